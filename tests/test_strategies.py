"""Strategies: the hard rules hold on random conversations, and lm-deluge's five patterns match."""

import gc
import io
import weakref

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from app.caching import builder as builder_module
from app.caching.builder import MAX_CACHED, RequestBuilder
from app.caching.strategies import STRATEGIES, CacheSettings
from app.conversation.blocks import (
    Message,
    TextBlock,
    ThinkingBlock,
    ToolDefinition,
    ToolResultBlock,
    ToolUseBlock,
)
from app.conversation.conversation import Conversation
from app.conversation.documents import document_from_text
from app.conversation.images import lock_image
from app.facts.catalogue import default_catalogue
from app.facts.prefix import flatten_request
from app.facts.rules import resolve_breakpoints
from app.simulator.validation import validate_request
from tests.helpers import HAIKU_45, OPUS_47, SONNET_46, text_of

BUILDER = RequestBuilder()


def _png(color):
    buf = io.BytesIO()
    Image.new("RGB", (300, 200), color).save(buf, "PNG")
    return lock_image(buf.getvalue())


IMAGES = [_png(c) for c in ("red", "green")]


@st.composite
def conversations(draw):
    conv = Conversation(model=draw(st.sampled_from([SONNET_46, OPUS_47, HAIKU_45])))
    if draw(st.booleans()):
        conv.set_system_text(text_of(draw(st.integers(1, 3000)), "system"))
    if draw(st.booleans()):
        conv.tools = tuple(
            ToolDefinition.create(f"tool{i}", "d" * draw(st.integers(0, 4000)), {"type": "object"})
            for i in range(draw(st.integers(1, 3)))
        )
    clock = 1_000_000.0
    for turn in range(draw(st.integers(1, 9))):
        clock += draw(st.sampled_from([5, 60, 400, 1500, 4000]))
        parts = [IMAGES[draw(st.integers(0, 1))] for _ in range(draw(st.integers(0, 2)))]
        message = conv.add_user_text(
            text_of(draw(st.integers(1, 900)), f"u{turn}"), *parts, created_at=clock
        )
        if draw(st.integers(0, 5)) == 0:
            conv.set_pinned(len(conv.messages) - 1, True)
        del message
        reply = []
        if draw(st.booleans()):
            reply.append(ThinkingBlock("thought " * draw(st.integers(1, 50)), "sig"))
        call = draw(st.booleans())
        reply.append(TextBlock(text_of(draw(st.integers(1, 300)), f"a{turn}")))
        if call:
            reply.append(ToolUseBlock.create(f"toolu_{turn}", "tool0", {"n": turn}))
        conv.add("assistant", *reply, created_at=clock + 1)
        if call:
            pieces = draw(st.integers(1, 25))
            conv.add(
                "user",
                *[ToolResultBlock(f"toolu_{turn}", (TextBlock(f"r{k}"),)) for k in range(pieces)][
                    :1
                ],
                *[TextBlock(f"extra {k}") for k in range(pieces - 1)],
                created_at=clock + 2,
            )
    if conv.messages[-1].role == "assistant":
        conv.add_user_text("last question", created_at=clock + 10)
    return conv


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    conv=conversations(),
    strategy=st.sampled_from(sorted(STRATEGIES)),
    ttl=st.sampled_from(["5m", "1h", "adaptive"]),
)
def test_every_strategy_keeps_the_hard_rules(conv, strategy, ttl):
    built = BUILDER.build(conv, strategy, CacheSettings(ttl=ttl))
    model = built.model
    points = built.breakpoints
    assert len(points) <= 4
    ttls = [p.ttl for p in points]
    assert "1h" not in ttls[ttls.index("5m") :] if "5m" in ttls else True
    for point in points:
        block = built.flat.blocks[point.index]
        assert block.facts.can_carry and block.facts.kind != "thinking"
        assert block.cumulative >= model.min_cacheable_tokens
    # The simulator (the real rules) accepts the request as built.
    validate_request(built.body, default_catalogue())
    served_flat = flatten_request(built.body, model=model)
    served = resolve_breakpoints(served_flat, built.body.get("cache_control"))
    assert [(b.index, b.ttl) for b in served] == [(b.index, b.ttl) for b in points]
    # The flattened prefix the builder computed is the one the service sees.
    assert served_flat == built.flat
    # Pins are kept while they fit and are long enough.
    pinned = [i for i, m in enumerate(conv.messages) if m.pinned]
    slots = 4 - (1 if built.body.get("cache_control") else 0)
    if len(pinned) <= slots:
        marked_messages = {p.spot.index for p, _ in built.marks if p.spot.level == "messages"}
        for index in pinned:
            last = max(b.cumulative for b in built.flat.blocks if b.facts.message_index == index)
            if last >= model.min_cacheable_tokens:
                assert index in marked_messages


# -- lm-deluge 0.0.168 places the same breakpoints ---------------------------------------------

LM_PATTERNS = [
    "system_and_tools",
    "tools_only",
    "last_user_message",
    "last_2_user_messages",
    "last_3_user_messages",
    "automatic",
]


def lm_deluge_marks(conv: Conversation, pattern: str) -> set:
    from lm_deluge import Tool
    from lm_deluge.api_requests.anthropic import _build_anthropic_request
    from lm_deluge.api_requests.context import RequestContext
    from lm_deluge.config import SamplingParams
    from lm_deluge.models import APIModel
    from lm_deluge.prompt import Conversation as LmConversation

    lm = LmConversation()
    if conv.system:
        lm = lm.system(conv.system_text)
    for message in conv.messages:
        lm = lm.user(message.text) if message.role == "user" else lm.ai(message.text)
    tools = [
        Tool(name=t.name, description=t.description, parameters={}, run=lambda: None)
        for t in conv.tools
    ]
    ctx = RequestContext(
        task_id=1,
        model_name="claude-opus-4-1",
        prompt=lm,
        sampling_params=SamplingParams(),
        tools=tools or None,
        cache=pattern,
    )
    request, _ = _build_anthropic_request(APIModel.from_registry("claude-4.1-opus"), ctx)
    marks = set()
    for i, tool in enumerate(request.get("tools", [])):
        if "cache_control" in tool:
            marks.add(("tools", i, 0, tool["cache_control"].get("ttl", "5m")))
    system = request.get("system")
    if isinstance(system, list):
        for i, block in enumerate(system):
            if "cache_control" in block:
                marks.add(("system", i, 0, block["cache_control"].get("ttl", "5m")))
    for i, message in enumerate(request["messages"]):
        if isinstance(message["content"], list):
            for j, block in enumerate(message["content"]):
                if "cache_control" in block:
                    marks.add(("messages", i, j, block["cache_control"].get("ttl", "5m")))
    if "cache_control" in request:
        marks.add(("automatic", request["cache_control"].get("ttl", "5m")))
    return marks


def our_marks(conv: Conversation, pattern: str) -> set:
    built = BUILDER.build(conv, pattern)
    marks = {(p.spot.level, p.spot.index, p.spot.block, m.ttl) for p, m in built.marks}
    if "cache_control" in built.body:
        marks.add(("automatic", built.body["cache_control"].get("ttl", "5m")))
    return marks


@st.composite
def plain_conversations(draw):
    conv = Conversation(model=SONNET_46)
    if draw(st.booleans()):
        conv.set_system_text(text_of(draw(st.integers(1100, 2000)), "system"))
    if draw(st.booleans()):
        conv.tools = tuple(
            ToolDefinition.create(f"t{i}", "x" * 5000, {"type": "object"})
            for i in range(draw(st.integers(1, 3)))
        )
    roles = ["user"]
    for _ in range(draw(st.integers(0, 7))):
        roles.append("assistant" if roles[-1] == "user" else "user")
    for k, role in enumerate(roles):
        tokens = 1100 if k == 0 else draw(st.integers(1, 200))
        conv.add(role, TextBlock(text_of(tokens, f"{role}{k}")))
    return conv


@pytest.mark.clients
@pytest.mark.parametrize("pattern", LM_PATTERNS)
@settings(max_examples=30, deadline=None)
@given(conv=plain_conversations())
def test_lm_deluge_patterns_place_identical_breakpoints(pattern, conv):
    assert our_marks(conv, pattern) == lm_deluge_marks(conv, pattern)


# -- smart --------------------------------------------------------------------------------------


def test_smart_marks_stable_part_and_newest_content():
    conv = Conversation(model=SONNET_46)
    conv.set_system_text(text_of(2000))
    conv.add_user_text("hello")
    built = BUILDER.build(conv, "smart")
    reasons = sorted(m.reason.split(":")[0] for _, m in built.marks)
    assert reasons == ["newest content", "stable part"]


def test_smart_keeps_a_breakpoint_where_the_last_turn_ended_when_over_20_blocks_arrive():
    conv = Conversation(model=SONNET_46)
    conv.add_user_text(text_of(1500))
    conv.add(
        "assistant",
        TextBlock("calling"),
        *[ToolUseBlock.create(f"t{i}", "f", {}) for i in range(12)],
    )
    conv.add("user", *[ToolResultBlock(f"t{i}", (TextBlock("ok"),)) for i in range(12)])
    built = BUILDER.build(conv, "smart")
    spots = {(p.spot.index, p.spot.block) for p, _ in built.marks}
    assert (0, 0) in spots and (2, 11) in spots


def test_smart_marks_after_large_attachments_so_an_edited_question_reuses_them():
    conv = Conversation(model=SONNET_46)
    big = [lock_image(_big_png(c)) for c in ("red", "blue")]
    conv.add_user_text("what is in these?", *big)
    built = BUILDER.build(conv, "smart")
    spots = {(p.spot.index, p.spot.block) for p, _ in built.marks}
    assert (0, 1) in spots and (0, 2) in spots


def _big_png(color):
    buf = io.BytesIO()
    Image.new("RGB", (1200, 900), color).save(buf, "PNG")
    return buf.getvalue()


def test_adaptive_ttl_turns_to_one_hour_after_a_long_pause():
    conv = Conversation(model=SONNET_46)
    conv.add_user_text(text_of(1500), created_at=1000.0)
    conv.add("assistant", TextBlock("ok"), created_at=1001.0)
    conv.add_user_text("quick", created_at=1030.0)
    quick = BUILDER.build(conv, "smart", CacheSettings(ttl="adaptive"))
    conv.add("assistant", TextBlock("ok"), created_at=1031.0)
    conv.add_user_text("after lunch", created_at=1031.0 + 1200)
    slow = BUILDER.build(conv, "smart", CacheSettings(ttl="adaptive"))
    assert {b.ttl for b in quick.breakpoints} == {"5m"}
    assert {b.ttl for b in slow.breakpoints} == {"1h"}


def test_pins_come_first_and_the_strategy_fills_the_rest():
    conv = Conversation(model=SONNET_46)
    for i in range(6):
        conv.add_user_text(text_of(1200, f"q{i}"))
        conv.add("assistant", TextBlock(f"a{i}"))
    conv.add_user_text("last")
    conv.set_pinned(0, True)
    built = BUILDER.build(conv, "last_3_user_messages")
    indexes = sorted(p.spot.index for p, _ in built.marks)
    assert indexes == [0, 8, 10, 12]
    conv.set_pinned(2, True)
    built = BUILDER.build(conv, "last_3_user_messages")
    assert sorted(p.spot.index for p, _ in built.marks) == [0, 2, 10, 12]
    assert any("no slot left" in d for d in built.dropped)


def test_one_hour_setting_with_pins_never_puts_one_hour_after_five_minutes():
    conv = Conversation(model=SONNET_46)
    conv.set_system_text(text_of(1500))
    conv.add_user_text("a")
    built = BUILDER.build(conv, "system_and_tools", CacheSettings(ttl="1h"))
    assert [b.ttl for b in built.breakpoints] == ["1h"]
    assert built.body["system"][0]["cache_control"] == {"type": "ephemeral", "ttl": "1h"}


def test_the_builders_memory_stays_bounded_over_thousands_of_warm_up_checks():
    """Each warm-up check builds a one-off tail; the builder once kept every one of them."""
    builder = RequestBuilder()
    conv = Conversation(model=SONNET_46)
    conv.set_system_text(text_of(2000, "system"))
    conv.add_user_text("a question")
    for _ in range(MAX_CACHED + 300):
        tail = Message("user", (TextBlock("."),), "warm-tail", 0.0)
        builder.build(conv, "smart", max_tokens=0, extra_user=tail)
    assert len(builder._facts) <= MAX_CACHED and len(builder._fragments) <= MAX_CACHED
    first = conv.messages[0]
    assert any(v[0] is first for v in builder._facts.values())  # still cached: used each time


def test_conversations_opened_one_after_another_do_not_keep_their_attachments_alive(monkeypatch):
    """A day of opening conversations with 1 MB documents: the builder keeps at most its byte
    budget of them (the least recently used go), and the open one is still built from memory."""
    monkeypatch.setattr(builder_module, "MAX_CACHED_BYTES", 8_000_000)
    builder = RequestBuilder()
    kept = []
    for n in range(30):
        conv = Conversation(model=SONNET_46)
        conv.add_user_text(f"read this {n}", document_from_text(f"{n} " * 500_000, f"d{n}.txt"))
        builder.build(conv, "smart")
        kept.append(weakref.ref(conv.messages[0]))
        del conv
    gc.collect()
    alive = sum(ref() is not None for ref in kept)
    assert builder._fragments.weight <= 8_000_000 and builder._facts.weight <= 8_000_000
    assert 1 <= alive <= 8  # ~1-2.4 MB each (bytes + JSON): a handful, not thirty
    assert kept[-1]() is not None
