"""Replay one trace under one policy on a virtual loop; the bill comes from the simulator."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import anthropic
import httpx2 as httpx

from app.caching.costs import input_cost_usd
from app.caching.ledger import Usage
from app.conversation.conversation import Conversation
from app.facts.prefix import flatten_request
from app.replay import vloop
from app.replay.actor import last_user_index
from app.replay.optimum import Send, lower_bound_usd
from app.replay.policies import POLICIES, TTL_CHOICES
from app.replay.spending import Spending
from app.replay.trace import SENDS, Content, Trace

MAX_TOKENS = 16_000
# Going back in the conversation (Edit on a message, a branch link) comes this long before the
# first key: the hand moves to the keyboard. Every policy goes back at the same moment.
GO_BACK_S = 0.5


@dataclass
class Result:
    trace: str
    policy: str
    cost_usd: float = 0.0
    ttft_s: list[float] = field(default_factory=list)
    requests: int = 0
    optimum_usd: float = 0.0  # the hindsight lower bound for the sends this replay made
    failures: list[str] = field(default_factory=list)
    simulated_s: float = 0.0
    sent_usage: list[Usage] = field(default_factory=list)  # each send's, in order
    sent_at: list[float] = field(default_factory=list)  # each send's simulated time
    spending: Spending | None = None  # what Cachescope's engine spent on what (None: another)


class ReplyLength:
    """Tells the simulator how long the next reply is (``x-sim-reply-tokens``)."""

    def __init__(self) -> None:
        self.tokens = 1

    async def __call__(self, request: httpx.Request) -> None:
        request.headers["x-sim-reply-tokens"] = str(self.tokens)


def _bill_usd(bill: dict, catalogue) -> float:
    """The simulator's bill in dollars, at each model's base prices (the traces use no model
    with a prompt-length tier: a tier applies per request, which a summed bill cannot say)."""
    total = 0.0
    for model, counts in bill.items():
        written = counts["cache_creation_input_tokens"]
        one_hour = counts["ephemeral_1h_input_tokens"]
        usage = Usage(
            read=counts["cache_read_input_tokens"],
            write_5m=written - one_hour,
            write_1h=one_hour,
            uncached=counts["input_tokens"],
            output=counts["output_tokens"],
        )
        info = catalogue.require(model)
        if info.prices is None:
            raise ValueError(f"prices unknown for {model}: the replay cannot price it")
        if info.tier_start:  # a tier applies per request; a summed bill cannot carry it
            raise ValueError(f"{model} has a prompt-length price tier: price it per request")
        total += input_cost_usd(usage, info) + usage.output * info.prices.output / 1e6
    return total


class Steps:
    """Where each send of a trace goes in the conversation: after the reply of the send before
    it, after the reply of the send it names (``after``), in place of the last message of the
    user (``edit_last``), or as a new answer to a send's message (``regenerate``). It keeps the
    conversation as it stood after each send (the messages the actor sent)."""

    def __init__(self, conversation: Conversation):
        self.conv = conversation
        self.after: list[tuple] = [()]  # after[k]: the messages once send k was answered

    def base(self, event) -> tuple[tuple, bool]:
        """(the messages the next user message follows, whether an edit keeps the attachments
        of the message it replaces)."""
        if event.do == "edit_last":
            shown = self.conv.messages
            return tuple(shown[: last_user_index(shown)]), True
        if event.do == "send" and "after" in event.fields:
            return self.after[int(event["after"])], False
        return tuple(self.conv.messages), False

    def asked(self, event) -> tuple:
        """A regenerate's conversation up to the message it answers again."""
        answered = self.after[int(event["of"])]
        return answered[: last_user_index(answered) + 1]

    def answered(self) -> None:
        self.after.append(tuple(self.conv.messages))


def _groups(events) -> list[int | None]:
    """For each event, the index of the send it leads up to when it is the first attach or
    type of that send's group (the user went back to where the send goes before typing); else
    None. A send with no attach or type before it is its own group's first event."""
    out: list[int | None] = [None] * len(events)
    first: int | None = None
    for i, event in enumerate(events):
        if event.do in ("attach", "type") and first is None:
            first = i
        elif event.do in SENDS:
            out[i if first is None else first] = i
            first = None
    return out


async def _replay(trace: Trace, policy: str, actor_class: type | None, price: bool) -> Result:
    result = Result(trace.name, policy)
    loop = asyncio.get_running_loop()
    content = Content(trace)
    conv = Conversation(model=trace.model, max_tokens=MAX_TOKENS)
    system = trace.system_tokens
    if system:
        conv.set_system_text(content.text(system, "system"))
    conv.tools = list(content.tools(trace.tool_tokens))
    reply = ReplyLength()
    async with vloop.InLoopSimulator() as sim:
        http = httpx.AsyncClient(event_hooks={"request": [reply]})
        client = anthropic.AsyncAnthropic(
            base_url=sim.base_url,
            api_key=f"replay-{trace.name}-{policy}",
            max_retries=0,
            http_client=http,
        )
        actor = (actor_class or (POLICIES | TTL_CHOICES)[policy])(client, conv, loop)
        model = sim.simulator.catalogue.require(trace.model)
        planned: list[Send] = []
        steps = Steps(conv)
        leads = _groups(trace.events)
        question = ""  # the text of the next send, made when the user starts typing it
        earliest = 0.0  # the trace's own clock: every reply instant
        for i, event in enumerate(trace.events):
            lead = leads[i] is not None and trace.events[leads[i]].do != "regenerate"
            base = steps.base(trace.events[leads[i]]) if lead else None
            if base is not None and base[0] != tuple(conv.messages):
                # The user goes back (an edit, a branch) a moment before the first key.
                before = max(0.0, event.wait - GO_BACK_S)
                await asyncio.sleep(before)
                await actor.prepare(*base)
                await asyncio.sleep(GO_BACK_S)
                earliest += before + GO_BACK_S
            else:
                await asyncio.sleep(event.wait)
                earliest += event.wait
            if event.do == "close":
                break
            if event.do == "attach":
                if "document_tokens" in event.fields:
                    item = content.document(event["document_tokens"])
                else:
                    item = content.image(*event["image"])
                await actor.attach(item)
            elif event.do == "type":
                question = question or _question(content, trace.events, i)
                await actor.typing(event["seconds"], question)
                earliest += event["seconds"]
            elif event.do == "set_system":
                actor.set_system(content.text(event["system_tokens"], "system"))
            else:
                reply.tokens = int(event["reply_tokens"])
                clicked = loop.time()
                if event.do == "regenerate":
                    first = await actor.regenerate(steps.asked(event))
                else:
                    first = await actor.send(question or content.text(event["tokens"], "question"))
                question = ""
                if first is None:
                    result.failures.append(f"send at {clicked:.0f} s produced no token")
                else:
                    result.ttft_s.append(first - clicked)
                steps.answered()
                flat = flatten_request(actor.last_body, model=model)
                planned.append(Send(earliest, flat, int(event["reply_tokens"])))
        await actor.close()
        await client.close()
        result.simulated_s = loop.time()
        result.failures += actor.failures
        result.sent_usage = list(actor.sent_usage)
        result.sent_at = list(actor.sent_at)
        result.spending = actor.spending()
        try:
            result.cost_usd = _bill_usd(sim.simulator.bill, sim.simulator.catalogue)
        except ValueError:
            if price:
                raise
        result.requests = sim.simulator.stats["requests"]
        result.optimum_usd = lower_bound_usd(planned, model.min_cacheable_tokens, model.prices)
        errors = {k: v for k, v in sim.simulator.stats.items() if k.startswith("status_")}
        result.failures += [f"{k}: {v}" for k, v in errors.items() if k != "status_200"]
    return result


def _question(content: Content, events, at: int) -> str:
    """The text of the send the typing at ``at`` leads to (made when typing starts, so that a
    policy that types it key by key sends the same bytes as the others)."""
    send = next(e for e in events[at:] if e.do in SENDS)
    return content.text(send["tokens"], "question") if send.do != "regenerate" else ""


def replay(trace: Trace, policy: str, actor: type | None = None, price: bool = True) -> Result:
    """``trace`` under ``policy`` (or under ``actor``, an ``app.replay.policies.Actor`` class,
    named ``policy`` in the result). ``price=False``: a bill that cannot be priced (a model
    with a prompt-length tier) leaves ``cost_usd`` at 0 instead of raising ValueError; such
    callers price ``sent_usage`` themselves."""
    return vloop.run(_replay(trace, policy, actor, price))
