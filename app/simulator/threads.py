"""Server-held conversations (the ``message-threads`` beta the SDK's tool runner uses): a
request with ``thread: {"type": "create"}`` has its history and reply kept under the response id;
one with ``{"type": "continue", "previous_message_id": ...}`` sends only what is new, and the
service puts the kept history before it, under the create request's ``system`` and ``tools``
(the SDK's tool runner sends neither on a continue). Caching sees the whole conversation either
way, so a step after a tool result reads what the step before wrote. A continue that sends its
own ``system`` or ``tools`` uses those (a choice: the SDK documents no such request)."""

from __future__ import annotations

from collections import OrderedDict

from app.simulator.errors import ApiError, invalid

KEEP = 200  # conversations held (each can carry megabytes of images)
KEPT_FIELDS = ("system", "tools")  # what a continue inherits from the request before it


class Threads:
    def __init__(self) -> None:
        self._kept: OrderedDict[tuple[str, str], dict] = OrderedDict()  # a request's context

    def expand(self, owner: str, body: dict) -> tuple[dict, bool]:
        """The request as the model sees it, and whether its reply is to be kept."""
        if "thread" not in body:
            return body, False
        thread = body["thread"]
        body = {k: v for k, v in body.items() if k != "thread"}
        if thread is None:
            return body, False
        if not isinstance(thread, dict) or thread.get("type") not in ("create", "continue"):
            raise invalid("thread.type: Input should be 'create' or 'continue'")
        if thread["type"] == "create":
            return body, True
        previous = thread.get("previous_message_id")
        kept = self._kept.get((owner, previous)) if isinstance(previous, str) else None
        if kept is None:
            error = ApiError(404, "not_found_error", f"thread: no thread ends at {previous}")
            error.details = {"error_code": "thread_not_found"}
            raise error
        messages = body.get("messages")
        if not isinstance(messages, list):
            raise invalid("messages: Input should be a valid list")
        context = {k: v for k, v in kept.items() if k != "messages" and k not in body}
        return {**context, **body, "messages": [*kept["messages"], *messages]}, True

    def keep(self, owner: str, message_id: str, body: dict, reply: list[dict]) -> None:
        """Keep the request's history with the reply, and its system prompt and tools."""
        kept = {k: body[k] for k in KEPT_FIELDS if k in body}
        kept["messages"] = [*body["messages"], {"role": "assistant", "content": reply}]
        self._kept[(owner, message_id)] = kept
        while len(self._kept) > KEEP:
            self._kept.popitem(last=False)
