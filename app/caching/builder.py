"""The request builder: a conversation plus a strategy become one Messages API request.

It also returns the request's flattened prefix (tokens, fingerprints, breakpoints), computed from
per-message facts cached on the builder, so only new or re-marked messages cost anything. The JSON
body is put together from cached per-message fragments: the same conversation gives byte-identical
JSON every time and across restarts.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from functools import cached_property

from app.caching.api_view import ApiView
from app.caching.calibration import TokenCalibration
from app.caching.lru import BoundedMemo
from app.caching.strategies import (
    STRATEGIES,
    CacheSettings,
    Layout,
    Mark,
    Position,
    Spot,
    apply_rules,
)
from app.conversation.blocks import DocumentBlock, ImageBlock, Message, RawBlock, ToolResultBlock
from app.conversation.conversation import Conversation
from app.facts.catalogue import Catalogue, ModelInfo, default_catalogue
from app.facts.context_management import COMPACT, COMPACT_BETA, EDITING_BETA
from app.facts.documents import pdf_facts, pdf_source_tokens
from app.facts.prefix import (
    BlockFacts,
    FlatRequest,
    assemble,
    counted_tokens,
    flatten_request,
    message_facts,
    request_contexts,
    strip,
    stripped_thinking,
    system_facts,
    tool_facts,
)
from app.facts.rules import Breakpoint, resolve_breakpoints
from app.facts.server_tools import definitions
from app.facts.tokens import canonical_json, text_tokens


@dataclass(frozen=True)
class BuiltRequest:
    head: dict  # everything but the messages (model, max_tokens, system, tools, ...)
    # the messages and the blocks each marks: ((Message, ((block, ttl), ...)), ...); None: a
    # request another program sent (``as_sent``), whose ``head`` is its whole body
    messages: tuple | None
    json_bytes: bytes  # the exact JSON body, for hashing, storage and byte-identity checks
    flat: FlatRequest
    breakpoints: tuple[Breakpoint, ...]
    marks: tuple[tuple[Position, Mark], ...]
    dropped: tuple[str, ...]  # breakpoints left out, with the reason (too short, no slot...)
    strategy: str
    model: ModelInfo
    too_short_tokens: int = 0  # the longest prefix whose breakpoint was dropped as too short
    betas: tuple[str, ...] = ()  # beta headers the body needs (mid-conversation tool changes)
    # The conversation's index of each message sent: the messages before a compaction block are
    # not sent (the API drops them), so the request's first message may be a later one. Paths
    # in ``flat`` ("messages.N...") use these numbers, the conversation's.
    numbers: tuple[int, ...] = ()

    def position_of(self, number: int) -> int:
        """Where the conversation's message ``number`` sits in the body's messages."""
        return self.numbers.index(number) if self.numbers else number

    @property
    def beta_api(self) -> bool:
        """Whether the request needs the SDK's beta Messages API: context management asked for,
        or a compaction block sent back (types the stable API does not read)."""
        return "context_management" in self.head or COMPACT_BETA in self.betas

    @property
    def compacting(self) -> bool:
        """Whether the request asks the API to compact (the compact_20260112 edit)."""
        edits = (self.head.get("context_management") or {}).get("edits") or ()
        return any(e.get("type") == COMPACT for e in edits)

    @cached_property
    def body(self) -> dict:
        """Keyword arguments for the SDK (messages.create / messages.stream), made when the
        request is sent: most requests built are only looked at (a decision, a price)."""
        if self.messages is None:
            return self.head
        return {**self.head, "messages": [_api_message(m, marks) for m, marks in self.messages]}

    @classmethod
    def as_sent(
        cls, body: dict, flat: FlatRequest, breakpoints: tuple[Breakpoint, ...], model: ModelInfo
    ) -> BuiltRequest:
        """A request another program sent (the inspector reads it; nothing here built it)."""
        return cls(body, None, b"", flat, tuple(breakpoints), (), (), "", model)


# mid-conversation-system-messages.md
TOOL_CHANGES_BETA = "mid-conversation-tool-changes-2026-07-01"
OUTPUT_CONFIG_BETA = "mid-conversation-output-config-2026-07-01"  # per-message effort
TOOL_CHANGES = ("tool_addition", "tool_removal")
MAX_CACHED = 4096  # messages' facts and JSON kept; the least recently used go first
# What those entries may hold alive: the messages' attachment bytes and the JSON text (a closed
# conversation's images go first).
MAX_CACHED_BYTES = 256 * 1024 * 1024


def _attachment_bytes(message: Message) -> int:
    return sum(
        len(b.image.data) if isinstance(b, ImageBlock) else len(b.document.data)
        for b in message.blocks
        if isinstance(b, ImageBlock | DocumentBlock)
    )


def _cc(ttl: str) -> dict:
    return {"type": "ephemeral"} if ttl == "5m" else {"type": "ephemeral", "ttl": ttl}


class RequestBuilder:
    def __init__(
        self, catalogue: Catalogue | None = None, calibration: TokenCalibration | None = None
    ):
        self._lock = threading.Lock()  # one build at a time: a decision builds off the GUI thread
        self.catalogue = catalogue or default_catalogue()
        self.calibration = calibration if calibration is not None else TokenCalibration()
        self._facts: BoundedMemo[tuple[Message, list[BlockFacts]]] = BoundedMemo(
            MAX_CACHED, MAX_CACHED_BYTES, lambda v: _attachment_bytes(v[0])
        )
        self._fragments: BoundedMemo[tuple[Message, str]] = BoundedMemo(
            MAX_CACHED, MAX_CACHED_BYTES, lambda v: _attachment_bytes(v[0]) + len(v[1])
        )
        self._view = ApiView()  # the messages as the API reads them (compaction)

    # -- cached pieces --------------------------------------------------------------------------
    def _message_facts(self, index: int, message: Message) -> list[BlockFacts]:
        key = (id(message), index)
        hit = self._facts.get(key)
        if hit is not None and hit[0] is message:
            return hit[1]
        facts = _facts_of(index, message.api_fields(), message)
        self._facts.put(key, (message, facts))
        return facts

    def _fragment(self, index: int, message: Message, marks: tuple) -> str:
        key = (id(message), index, marks)
        hit = self._fragments.get(key)
        if hit is not None and hit[0] is message:
            return hit[1]
        text = canonical_json(_api_message(message, marks))
        self._fragments.put(key, (message, text))
        return text

    # -- building -------------------------------------------------------------------------------
    def build(
        self,
        conversation: Conversation,
        strategy: str = "smart",
        settings: CacheSettings | None = None,
        max_tokens: int | None = None,
        extra_user: Message | None = None,
        edits: tuple[dict, ...] = (),
    ) -> BuiltRequest:
        """Build the next request (``_build``), one build at a time whatever the thread."""
        with self._lock:
            return self._build(conversation, strategy, settings, max_tokens, extra_user, edits)

    def _build(
        self,
        conversation: Conversation,
        strategy: str = "smart",
        settings: CacheSettings | None = None,
        max_tokens: int | None = None,
        extra_user: Message | None = None,
        edits: tuple[dict, ...] = (),
    ) -> BuiltRequest:
        """Build the next request.

        With ``extra_user`` (a warm-up's minimal last turn) the request warms the prefix before
        that turn's last block: the strategy's marks inside the prefix stay, a mark that would
        land on the tail moves to the end of the prefix, and the end of the prefix is marked.
        ``edits``: context-management edits this request asks for (``context_management``).
        The messages before the last compaction block are not sent: the API drops them
        (``app.facts.context_management``), so the request, its tokens and its prefix are what
        the API keeps.
        """
        settings = settings or CacheSettings()
        model = self.catalogue.require(conversation.model)
        indexed = list(enumerate(conversation.messages))
        if extra_user is not None:
            indexed.append((len(indexed), extra_user))
        if not model.system_messages:  # a per-turn effort only goes where system messages do
            indexed = [
                (i, m) for i, m in indexed if not (m.role == "system" and m.effort and not m.blocks)
            ]
        indexed = self._view.from_compaction(indexed)
        numbers = [i for i, _ in indexed]
        messages = [m for _, m in indexed]
        same = extra_user is None and len(messages) == len(conversation.messages)
        view = conversation if same else _with_messages(conversation, messages)

        tools_api = [t.api for t in conversation.tools] + definitions(conversation.server_tools)
        system_api = [b.to_api() for b in conversation.system]
        preamble = model.tool_prompt(conversation.tool_choice)
        facts: list[BlockFacts] = tool_facts(tools_api, preamble) + system_facts(system_api)
        per_message = [self._message_facts(i, m) for i, m in indexed]
        per_message, origin = self._view.cleared(
            indexed, per_message, facts, model, edits, _facts_of
        )
        for chunk in per_message:
            facts.extend(chunk)
        turns = [
            (m.role, tuple(f.kind for f in c)) for m, c in zip(messages, per_message, strict=True)
        ]
        facts = strip(facts, frozenset(numbers[k] for k in stripped_thinking(turns, model)))

        layout = _layout(facts, len(tools_api), len(system_api), per_message, model)
        placement = STRATEGIES[strategy].place(view, settings, layout)
        marks, automatic, dropped = apply_rules(placement, view, settings, layout)
        if extra_user is not None and strategy != "none":  # a pattern that caches nothing
            marks, automatic = _warm_marks(marks, automatic, layout, len(messages) - 1)
        kept = [(p, m) for p, m in marks if p.cumulative >= model.min_cacheable_tokens]
        dropped += [
            f"{m.reason}: too short to cache ({p.cumulative} tokens, the model's minimum is "
            f"{model.min_cacheable_tokens})"
            for p, m in marks
            if p.cumulative < model.min_cacheable_tokens
        ]

        ttl_at = {p.flat_index: m.ttl for p, m in kept}
        marked_facts = [
            replace(f, ttl=ttl_at[i]) if i in ttl_at else f for i, f in enumerate(facts)
        ]
        settings_ctx = {
            "tools": tools_api,
            "tool_choice": conversation.tool_choice,
            "thinking": conversation.thinking,
            "output_config": {"effort": conversation.effort} if conversation.effort else None,
        }
        has_images = any(_image_sizes(m) for m in messages)
        flat = assemble(
            marked_facts, request_contexts(settings_ctx, model, has_images), model.token_scale
        )
        flat = self.calibration.apply(flat, model.id)  # the service's counts where known
        top_level = _cc(automatic) if automatic else None
        breakpoints = tuple(resolve_breakpoints(flat, top_level))
        auto_short = [
            b
            for b in breakpoints
            if b.automatic and flat.blocks[b.index].cumulative < model.min_cacheable_tokens
        ]
        if auto_short:
            tokens = flat.blocks[auto_short[0].index].cumulative
            dropped.append(
                f"automatic: too short to cache ({tokens} tokens, the model's minimum "
                f"is {model.min_cacheable_tokens})"
            )
            top_level = None
            breakpoints = tuple(b for b in breakpoints if not b.automatic)

        tools_out = [
            {**t, "cache_control": _cc(ttl_at[i])} if i in ttl_at else t
            for i, t in enumerate(tools_api)
        ]
        offset = len(tools_api)
        system_out = [
            {**b, "cache_control": _cc(ttl_at[offset + i])} if offset + i in ttl_at else b
            for i, b in enumerate(system_api)
        ]
        message_marks: dict[int, list[tuple[int, str]]] = {}
        for position, mark in kept:
            if position.spot.level == "messages":
                spot = position.spot  # on the block as sent (cleared thinking kept in the body)
                block = origin[spot.index][spot.block] if spot.index in origin else spot.block
                message_marks.setdefault(spot.index, []).append((block, mark.ttl))
        fragments = [
            self._fragment(numbers[i], m, tuple(sorted(message_marks.get(i, ()))))
            for i, m in enumerate(messages)
        ]
        head: dict = {
            "model": conversation.model,
            "max_tokens": conversation.max_tokens if max_tokens is None else max_tokens,
        }
        if system_out:
            head["system"] = system_out
        if tools_out:
            head["tools"] = tools_out
        if conversation.tool_choice:
            head["tool_choice"] = conversation.tool_choice
        if conversation.thinking:
            head["thinking"] = conversation.thinking
        if conversation.effort:
            head["output_config"] = {"effort": conversation.effort}
        if top_level:
            head["cache_control"] = top_level
        if edits:
            head["context_management"] = {"edits": [dict(e) for e in edits]}
        json_text = canonical_json(head)[:-1] + ',"messages":[' + ",".join(fragments) + "]}"
        return BuiltRequest(
            head=head,
            messages=tuple((m, tuple(message_marks.get(i, ()))) for i, m in enumerate(messages)),
            json_bytes=json_text.encode("utf-8"),
            flat=flat,
            breakpoints=breakpoints,
            marks=tuple(kept),
            dropped=tuple(dropped),
            strategy=strategy,
            model=model,
            too_short_tokens=max(
                [p.cumulative for p, _ in marks if p.cumulative < model.min_cacheable_tokens]
                + [flat.blocks[b.index].cumulative for b in auto_short],
                default=0,
            ),
            betas=_betas(messages, edits),
            numbers=tuple(numbers),
        )

    def compacted(self, built: BuiltRequest, compaction: dict) -> BuiltRequest:
        """The request a compaction's message iteration reads: the same tools and system (with
        their breakpoints and the top-level one), then the new ``compaction`` block alone
        (compaction.md, "How compaction works": the response "continues [...] with the
        compacted context"). The ledger records that iteration's reads and writes with it."""
        body = {k: v for k, v in built.head.items() if k != "context_management"}
        body["messages"] = [{"role": "assistant", "content": [compaction]}]
        flat = flatten_request(body, model=built.model)
        points = tuple(resolve_breakpoints(flat, body.get("cache_control")))
        return replace(
            built,
            head=body,
            messages=(),
            json_bytes=canonical_json(body).encode("utf-8"),
            flat=flat,
            breakpoints=points,
            numbers=(),
        )


def _facts_of(index: int, api: dict, message: Message) -> list[BlockFacts]:
    """The facts of a message's API form (``api``: the message's, or as an edit left it), its
    images sized and its uploaded files counted from ``message``."""
    sizes = _image_sizes(message)
    files = _file_tokens(message)
    return message_facts(
        index,
        api,
        lambda block: sizes.get(id(block["source"]["data"]), (0, 0)),
        lambda block: (
            files.get((block.get("source") or {}).get("file_id")) or pdf_source_tokens(block)
        ),
    )


def _betas(messages: list[Message], edits: tuple[dict, ...] = ()) -> tuple[str, ...]:
    """The beta headers the request needs: tool changes, per-turn effort, a compaction block
    sent back or asked for (compact-2026-01-12), context editing (context-management-2025-06-27)."""
    out = (TOOL_CHANGES_BETA,) if _changes_tools(messages) else ()
    if any(m.effort is not None for m in messages):
        out += (OUTPUT_CONFIG_BETA,)
    kinds = {e.get("type") for e in edits}
    sent_back = any(b.kind == "compaction" for m in messages for b in m.blocks)
    if sent_back or COMPACT in kinds:
        out += (COMPACT_BETA,)
    if kinds - {COMPACT}:
        out += (EDITING_BETA,)
    return out


def _changes_tools(messages: list[Message]) -> bool:
    return any(
        isinstance(b, RawBlock) and b.kind in TOOL_CHANGES
        for m in messages
        if m.role == "system"
        for b in m.blocks
    )


def _warm_marks(marks, automatic, layout: Layout, tail_message: int):
    """Marks for a warm-up: everything before the tail block of the last message is written."""
    tail = layout.of_message(tail_message)[-1]
    ends = [p for p in layout.positions if p.flat_index < tail.flat_index and p.can_carry]
    if not ends:
        return [], None
    end = ends[-1]
    ttl = automatic or next((m.ttl for p, m in reversed(marks)), "5m")
    kept = [(p, m) for p, m in marks if p.flat_index < end.flat_index]
    if any(m.ttl == "5m" for _, m in kept):
        ttl = "5m"  # a 1h breakpoint may not follow a 5m one
    kept.append((end, Mark(end.spot, ttl, "warm-up: the prefix the next send will use")))
    return kept[-4:], None


def _api_message(message: Message, marks) -> dict:
    out = message.api_fields()
    if marks:
        content = list(out["content"])
        for block_index, ttl in marks:
            content[block_index] = {**content[block_index], "cache_control": _cc(ttl)}
        out["content"] = content
    return out


def _with_messages(conversation: Conversation, messages: list[Message]) -> Conversation:
    return replace(conversation, messages=messages)


def _file_tokens(message: Message) -> dict[str, int]:
    """Tokens of the documents the message sends by ``file_id`` (as the service counts the file:
    a PDF by its pages, a text by its text)."""
    out = {}
    for block in message.blocks:
        if isinstance(block, DocumentBlock) and block.file_id:
            document = block.document
            out[block.file_id] = (
                pdf_facts(document.data).tokens
                if document.is_pdf
                else text_tokens(document.data.decode("utf-8", "replace"))
            )
    return out


def _image_sizes(message: Message) -> dict[int, tuple[int, int]]:
    sizes = {}
    for block in message.blocks:
        parts = block.content if isinstance(block, ToolResultBlock) else (block,)
        for part in parts:
            if isinstance(part, ImageBlock):
                sizes[id(part.image.base64)] = (part.image.width, part.image.height)
    return sizes


def _layout(
    facts: list[BlockFacts],
    n_tools: int,
    n_system: int,
    per_message: list[list[BlockFacts]],
    model: ModelInfo,
) -> Layout:
    spots = [Spot("tools", i) for i in range(n_tools)] + [
        Spot("system", i) for i in range(n_system)
    ]
    for i, chunk in enumerate(per_message):
        spots.extend(Spot("messages", i, j) for j in range(len(chunk)))
    positions = []
    cumulative = 0
    for index, (spot, fact) in enumerate(zip(spots, facts, strict=True)):
        tokens = counted_tokens(fact, model.token_scale)
        cumulative += tokens
        positions.append(Position(spot, index, cumulative, tokens, fact.can_carry, fact.kind))
    return Layout(tuple(positions), model.min_cacheable_tokens)
