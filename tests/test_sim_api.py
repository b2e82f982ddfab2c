"""The simulator speaks the Messages API as the official SDK expects and rejects what it rejects."""

import base64
import io
import json

import anthropic
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from tests.helpers import SONNET_46, api_message, block, raw_post

GOOD = {"model": SONNET_46, "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]}


def png(size=(20, 20), fmt="PNG"):
    buf = io.BytesIO()
    Image.new("RGB", size, "red").save(buf, fmt)
    return base64.b64encode(buf.getvalue()).decode()


def image_block(data, media_type="image/png"):
    return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}


def with_content(*blocks, role="user"):
    return {**GOOD, "messages": [{"role": role, "content": list(blocks)}]}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({**GOOD, "temprature": 1}, "temprature: Extra inputs are not permitted"),
        ({k: v for k, v in GOOD.items() if k != "max_tokens"}, "max_tokens: Field required"),
        ({**GOOD, "max_tokens": 999999}, "max_tokens: 999999 > 128000"),
        ({**GOOD, "messages": []}, "messages: at least one message is required"),
        ({**GOOD, "messages": [{"role": "system", "content": "x"}]}, "messages.0.role"),
        (
            with_content({"type": "text", "text": ""}),
            "messages.0.content.0.text: text content blocks must be non-empty",
        ),
        (
            with_content({"type": "text", "text": "", "cache_control": {"type": "ephemeral"}}),
            "messages.0.content.0.cache_control: cache_control cannot be set for empty text blocks",
        ),
        (
            with_content({"type": "text", "text": "a", "cache_control": {"type": "persistent"}}),
            "messages.0.content.0.cache_control.type: Input should be 'ephemeral'",
        ),
        (
            with_content(
                {"type": "text", "text": "a", "cache_control": {"type": "ephemeral", "ttl": "2h"}}
            ),
            "messages.0.content.0.cache_control.ttl",
        ),
        (
            with_content(
                {
                    "type": "thinking",
                    "thinking": "t",
                    "signature": "s",
                    "cache_control": {"type": "ephemeral"},
                },
                role="assistant",
            ),
            "messages.0.content.0.cache_control: Extra inputs are not permitted",
        ),
        (with_content({"type": "banana"}), "messages.0.content.0.type: Input tag 'banana'"),
        (with_content(image_block(png(), "image/bmp")), "messages.0.content.0.source.media_type"),
        (
            with_content(image_block(png(fmt="JPEG"), "image/png")),
            "Image does not match the provided media type image/png",
        ),
        (
            with_content(image_block("not base64!!")),
            "messages.0.content.0.source.data: Invalid base64",
        ),
        (
            with_content(
                image_block(base64.b64encode(b"GIF89a" + b"\0" * 50).decode(), "image/gif")
            ),
            "messages.0.content.0.source.data: Could not process image",
        ),
        (with_content(image_block(png((8001, 10)))), "exceed max allowed size: 8000 pixels"),
        (
            with_content(
                {
                    "type": "tool_result",
                    "tool_use_id": "t1",
                    "content": [
                        {"type": "text", "text": "r", "cache_control": {"type": "ephemeral"}}
                    ],
                }
            ),
            "messages.0.content.0.content.0.cache_control",
        ),
        (
            {**GOOD, "tool_choice": {"type": "auto"}},
            "tool_choice may only be specified while providing tools",
        ),
        (
            {**GOOD, "tools": [{"name": "bad name!", "input_schema": {"type": "object"}}]},
            "tools.0.custom.name",
        ),
        (
            {**GOOD, "tools": [{"name": "a", "input_schema": {"type": "object"}}] * 2},
            "Tool names must be unique",
        ),
        ({**GOOD, "temperature": 1.5}, "temperature"),
        ({**GOOD, "stop_sequences": ["  "]}, "stop_sequences"),
        ({**GOOD, "thinking": {"type": "enabled", "budget_tokens": 100}}, "budget_tokens"),
        ({**GOOD, "system": [{"type": "text", "text": ""}]}, "system.0.text"),
    ],
)
def test_invalid_requests_get_400_naming_the_path(sim, body, expected):
    status, headers, payload = raw_post(sim.base_url, "/v1/messages", body)
    assert status == 400
    assert payload["type"] == "error" and payload["error"]["type"] == "invalid_request_error"
    assert expected in payload["error"]["message"]
    assert (
        payload["request_id"].startswith("req_") and headers["request-id"] == payload["request_id"]
    )


def test_twenty_one_images_lower_the_edge_limit_to_2000(sim):
    big = image_block(png((2100, 10)))
    small = image_block(png())
    status, _, payload = raw_post(sim.base_url, "/v1/messages", with_content(big, *[small] * 20))
    assert status == 400 and "2000 pixels" in payload["error"]["message"]
    status, _, _ = raw_post(sim.base_url, "/v1/messages", with_content(big, *[small] * 19))
    assert status == 200


def test_valid_image_is_accepted(sim):
    status, _, payload = raw_post(sim.base_url, "/v1/messages", with_content(image_block(png())))
    assert status == 200 and payload["usage"]["input_tokens"] == 1 + 4


@pytest.mark.parametrize(
    ("headers", "status", "kind", "text"),
    [
        ({"x-api-key": None}, 401, "authentication_error", "x-api-key header is required"),
        ({"anthropic-version": None}, 400, "invalid_request_error", "anthropic-version"),
        (
            {"anthropic-beta": "made-up-beta-2099-01-01"},
            400,
            "invalid_request_error",
            "made-up-beta",
        ),
        ({"content-type": "text/plain"}, 400, "invalid_request_error", "Content-Type"),
    ],
)
def test_header_checks(sim, headers, status, kind, text):
    got, _, payload = raw_post(sim.base_url, "/v1/messages", GOOD, headers)
    assert (got, payload["error"]["type"]) == (status, kind)
    assert text in payload["error"]["message"]


def test_bearer_auth_and_generally_available_betas_are_accepted(sim):
    headers = {
        "x-api-key": None,
        "authorization": "Bearer abc",
        "anthropic-beta": "prompt-caching-2024-07-31,extended-cache-ttl-2025-04-11",
    }
    status, _, payload = raw_post(sim.base_url, "/v1/messages", GOOD, headers)
    assert status == 200 and payload["type"] == "message"


def test_malformed_json_gets_400_not_a_traceback(sim):
    status, _, payload = raw_post(sim.base_url, "/v1/messages", b'{"model": "x", ')
    assert status == 400 and "parsing the body" in payload["error"]["message"]


def test_body_over_32_mb_gets_413(sim):
    status, _, payload = raw_post(sim.base_url, "/v1/messages", b"x" * (32 * 1024 * 1024 + 10))
    assert status == 413 and payload["error"]["type"] == "request_too_large"


def test_unknown_model_is_404_not_found(client):
    with pytest.raises(anthropic.NotFoundError) as err:
        client.messages.create(
            model="claude-nonexistent", max_tokens=5, messages=[{"role": "user", "content": "x"}]
        )
    assert api_message(err) == "model: claude-nonexistent"


def test_unknown_route_is_404_with_error_shape(sim):
    status, _, payload = raw_post(sim.base_url, "/v1/nothing", GOOD)
    assert status == 404 and payload["error"]["type"] == "not_found_error"


def test_non_streaming_message_has_the_real_shape(sim):
    status, _, payload = raw_post(sim.base_url, "/v1/messages", {**GOOD, "max_tokens": 500})
    assert status == 200
    assert payload["id"].startswith("msg_") and payload["role"] == "assistant"
    assert payload["stop_reason"] == "end_turn" and payload["stop_sequence"] is None
    assert set(payload["usage"]) >= {
        "input_tokens",
        "output_tokens",
        "cache_creation_input_tokens",
        "cache_read_input_tokens",
        "cache_creation",
    }
    assert "hi" in payload["content"][0]["text"]


def test_max_tokens_cuts_the_reply(client):
    msg = client.messages.create(
        model=SONNET_46, max_tokens=3, messages=[{"role": "user", "content": "hi"}]
    )
    assert (msg.stop_reason, msg.usage.output_tokens) == ("max_tokens", 3)
    assert len(msg.content[0].text) <= 12


def test_stop_sequence_ends_the_reply(client):
    msg = client.messages.create(
        model=SONNET_46,
        max_tokens=500,
        stop_sequences=["read from"],
        messages=[{"role": "user", "content": "hi"}],
    )
    assert (msg.stop_reason, msg.stop_sequence) == ("stop_sequence", "read from")
    assert "read from" not in msg.content[0].text


def test_streaming_events_and_usage_in_message_start_and_final(client):
    msgs = [{"role": "user", "content": [block(1500, cache=True)]}]
    events = []
    with client.messages.stream(model=SONNET_46, max_tokens=300, messages=msgs) as stream:
        for event in stream:
            events.append(event)
        final = stream.get_final_message()
    kinds = [e.type for e in events]
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert "content_block_start" in kinds and "message_delta" in kinds
    start_usage = events[0].message.usage
    assert (
        start_usage.cache_creation_input_tokens == final.usage.cache_creation_input_tokens == 1504
    )
    assert final.usage.output_tokens > 1
    assert final.content[0].text == "".join(
        e.delta.text for e in events if e.type == "content_block_delta"
    )


def test_async_client_streams_text(sim):
    import asyncio

    async def run():
        async with anthropic.AsyncAnthropic(base_url=sim.base_url, api_key="k") as c:
            async with c.messages.stream(
                model=SONNET_46, max_tokens=200, messages=[{"role": "user", "content": "hello"}]
            ) as s:
                text = "".join([t async for t in s.text_stream])
                return text, await s.get_final_message()

    text, final = asyncio.run(run())
    assert text == final.content[0].text and "hello" in text


CALC = [
    {
        "name": "calculator",
        "description": "Evaluate arithmetic",
        "input_schema": {
            "type": "object",
            "properties": {"expression": {"type": "string"}},
            "required": ["expression"],
        },
    }
]


def test_naming_a_tool_gets_tool_use_and_a_result_gets_text(client):
    first = client.messages.create(
        model=SONNET_46,
        max_tokens=200,
        tools=CALC,
        messages=[{"role": "user", "content": "use calculator: 2+3*4"}],
    )
    call = first.content[-1]
    assert (first.stop_reason, call.type, call.name, call.input) == (
        "tool_use",
        "tool_use",
        "calculator",
        {"expression": "2+3*4"},
    )
    second = client.messages.create(
        model=SONNET_46,
        max_tokens=300,
        tools=CALC,
        messages=[
            {"role": "user", "content": "use calculator: 2+3*4"},
            {
                "role": "assistant",
                "content": [b.model_dump(exclude_none=True) for b in first.content],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "14"}],
            },
        ],
    )
    assert second.stop_reason == "end_turn" and "The tool returned: 14" in second.content[0].text


def test_streamed_tool_use_assembles_its_input(client):
    with client.messages.stream(
        model=SONNET_46,
        max_tokens=200,
        tools=CALC,
        messages=[{"role": "user", "content": "calculator 7*6"}],
    ) as s:
        final = s.get_final_message()
    assert final.content[-1].input == {"expression": "7*6"}


def test_thinking_enabled_adds_a_thinking_block(client):
    msg = client.messages.create(
        model=SONNET_46,
        max_tokens=2000,
        thinking={"type": "enabled", "budget_tokens": 1024},
        messages=[{"role": "user", "content": "hi"}],
    )
    assert [b.type for b in msg.content] == ["thinking", "text"]


def test_count_tokens_matches_the_total_input_of_a_message(client):
    kw = {
        "model": SONNET_46,
        "system": "be brief",
        "messages": [{"role": "user", "content": "x" * 401}],
    }
    count = client.messages.count_tokens(**kw).input_tokens
    usage = client.messages.create(max_tokens=5, **kw).usage
    assert (
        count
        == usage.input_tokens + usage.cache_read_input_tokens + usage.cache_creation_input_tokens
    )
    assert count == 2 + 101 + 4


def test_models_list_paginates_and_resolves_aliases(client):
    everything = [m.id for m in client.models.list(limit=3)]  # the SDK follows has_more
    assert (
        "claude-opus-4-1-20250805" in everything and len(everything) == len(set(everything)) >= 10
    )
    page = client.models.list(limit=2)
    assert len(page.data) == 2 and page.has_more
    assert client.models.retrieve("claude-opus-4-1").id == "claude-opus-4-1-20250805"
    with pytest.raises(anthropic.NotFoundError):
        client.models.retrieve("claude-9")


def test_sim_controls_reject_bad_input(sim):
    status, _, payload = raw_post(sim.base_url, "/_sim/clock/advance", {"seconds": -1})
    assert status == 400 and "seconds" in payload["error"]["message"]
    status, _, payload = raw_post(sim.base_url, "/_sim/stats", b"", method="GET")
    assert status == 200 and "active_streams" in payload


def test_loopback_check():
    from app.simulator.server import is_loopback

    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("127.5.0.1")
    assert not is_loopback("10.0.0.1") and not is_loopback("0.0.0.0") and not is_loopback(None)
    assert json.dumps({"ok": True})


def test_a_body_nested_100000_deep_gets_400_not_a_500(sim):
    status, _, payload = raw_post(sim.base_url, "/v1/messages", b"[" * 100_000)
    assert status == 400 and "nested too deeply" in payload["error"]["message"]
    status, _, _ = raw_post(sim.base_url, "/v1/messages/count_tokens", b'{"a":' * 50_000)
    assert status == 400


def deep_schema(levels: int) -> dict:
    schema: dict = {"type": "object"}
    for _ in range(levels):
        schema = {"type": "object", "properties": {"a": schema}}
    return schema


@pytest.mark.parametrize("levels", [150, 400, 900])
def test_a_tool_schema_hundreds_of_levels_deep_gets_a_400_with_the_apis_shape(sim, levels):
    """Issue 25, point 15: a schema 400-900 levels deep got a 500."""
    body = {
        "model": "claude-sonnet-4-6",
        "max_tokens": 10,
        "messages": [{"role": "user", "content": "hi"}],
        "tools": [{"name": "t", "input_schema": deep_schema(levels)}],
    }
    raw = json.dumps(body).encode() if levels < 400 else nested_bytes(body, levels)
    status, _, payload = raw_post(sim.base_url, "/v1/messages", raw)
    assert status == 400 and payload["type"] == "error"
    assert payload["error"]["type"] == "invalid_request_error"
    assert "nested" in payload["error"]["message"]


def nested_bytes(body: dict, levels: int) -> bytes:
    """The body as JSON without Python's recursive encoder (which stops near 1,000 levels)."""
    head = '{"type": "object", "properties": {"a": ' * levels
    tail = "}}" * levels
    schema = head + '{"type": "object"}' + tail
    text = json.dumps({**body, "tools": [{"name": "t", "input_schema": "SCHEMA"}]})
    return text.replace('"SCHEMA"', schema).encode()


def test_an_unpaired_surrogate_in_user_text_gets_a_400_naming_where(sim):
    """Issue 25, point 15: ``\\ud800`` in user content got a 500."""
    raw = (
        b'{"model": "claude-sonnet-4-6", "max_tokens": 10,'
        b' "messages": [{"role": "user", "content": "a\\ud800b"}]}'
    )
    status, _, payload = raw_post(sim.base_url, "/v1/messages", raw)
    assert status == 400 and payload["error"]["type"] == "invalid_request_error"
    assert payload["error"]["message"].startswith("messages.0.content:")


JSON_VALUE = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(alphabet=st.characters(codec=None), max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)
FIELD = st.sampled_from(
    ["model", "max_tokens", "messages", "system", "tools", "tool_choice", "thinking",
     "cache_control", "output_config", "metadata", "stream", "temperature", "diagnostics"]
)  # fmt: skip


@pytest.mark.timeout(90)
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    changes=st.dictionaries(FIELD, JSON_VALUE, max_size=4),
    content=JSON_VALUE,
)
def test_any_malformed_body_gets_a_4xx_in_the_apis_shape_never_a_500(sim, changes, content):
    body = {
        "model": "claude-sonnet-4-6",
        "max_tokens": 10,
        "messages": [{"role": "user", "content": content}],
        **changes,
    }
    body["stream"] = False
    raw = json.dumps(body, ensure_ascii=True).encode()  # lone surrogates travel as escapes
    status, _, payload = raw_post(sim.base_url, "/v1/messages", raw)
    assert status < 500, payload
    if status >= 400:
        assert payload["type"] == "error" and payload["error"]["type"].endswith("_error")


@pytest.mark.parametrize(
    ("model", "binding", "status"),
    [
        ("claude-opus-5-5", {"prefix_mismatch_behavior": "drop_block"}, 200),
        ("claude-opus-5-5", {}, 200),  # every default
        ("claude-opus-5-5", {"prefix_mismatch_behavior": "ignore"}, 400),
        ("claude-opus-5-5", {"other": 1}, 400),
        ("claude-opus-4-8", {"prefix_mismatch_behavior": "error"}, 400),  # not on this model
    ],
)
def test_thinking_block_binding_is_taken_where_the_model_takes_it(sim, model, binding, status):
    body = {
        "model": model,
        "max_tokens": 20,
        "thinking": {"type": "adaptive", "block_binding": binding},
        "messages": [{"role": "user", "content": "hi"}],
    }
    got, _, payload = raw_post(sim.base_url, "/v1/messages", body)
    assert got == status, payload
    if status == 400:
        assert "thinking.adaptive.block_binding" in payload["error"]["message"]


_TOOL = {"name": "t", "input_schema": {"type": "object"}}
_REF = {"type": "tool_reference", "name": "get_weather"}
OUTPUT_BETA = "mid-conversation-output-config-2026-07-01"


@pytest.mark.parametrize(
    ("model", "fields", "status"),
    [
        # model-deprecations.md: non-default sampling parameters are a 400 on Claude 4.7 and later
        ("claude-opus-4-7", {"temperature": 0.2}, 400),
        ("claude-opus-5", {"top_k": 5}, 400),
        ("claude-opus-4-8", {"temperature": 1.0}, 200),  # the default is accepted
        ("claude-sonnet-4-6", {"temperature": 0.2, "top_k": 5}, 200),
        # pricing.md: inference_geo only on Claude 4.6 and later; earlier models answer 400
        ("claude-sonnet-4-6", {"inference_geo": "us"}, 200),
        ("claude-haiku-4-5", {"inference_geo": "us"}, 400),
        # fast-mode.md, "Supported models": Opus 5 and 4.8 run fast; Opus 4.7 is a 400
        ("claude-opus-5", {"speed": "fast"}, 200),
        ("claude-opus-4-7", {"speed": "fast"}, 400),
        ("claude-sonnet-5", {"speed": "fast"}, 400),
        ("claude-opus-4-6", {"speed": "fast"}, 200),  # runs at standard speed
        # platform.claude.com's model pages (reference section 11): forced tool_choice refused
        ("claude-opus-5-5", {"tool_choice": {"type": "any"}, "tools": [_TOOL]}, 400),
        (
            "claude-mythos-5-1",
            {"tool_choice": {"type": "tool", "name": "t"}, "tools": [_TOOL]},
            400,
        ),
        ("claude-opus-5", {"tool_choice": {"type": "any"}, "tools": [_TOOL]}, 200),
        # define-tools.md: forced tool use is an error with manual extended thinking
        (
            "claude-sonnet-4-6",
            {
                "tool_choice": {"type": "any"},
                "tools": [_TOOL],
                "thinking": {"type": "enabled", "budget_tokens": 1024},
                "max_tokens": 2000,
            },
            400,
        ),
        # thinking.md: "display is invalid with thinking.type: disabled"
        ("claude-opus-5", {"thinking": {"type": "disabled", "display": "omitted"}}, 400),
        ("claude-opus-5", {"thinking": {"type": "adaptive", "display": "omitted"}}, 200),
    ],
)
def test_each_model_refuses_what_the_docs_say_it_refuses(sim, model, fields, status):
    body = {"model": model, "max_tokens": 20, "messages": [{"role": "user", "content": "hi"}]}
    got, _, payload = raw_post(sim.base_url, "/v1/messages", {**body, **fields})
    assert got == status, payload
    if status == 400:
        assert next(iter(fields)) in payload["error"]["message"]


@pytest.mark.parametrize(
    ("model", "speed"),
    [("claude-opus-5", "fast"), ("claude-opus-4-6", "standard"), ("claude-sonnet-5", "standard")],
)
def test_usage_speed_says_which_speed_ran(client, model, speed):
    """fast-mode.md, "Checking which speed was used": Opus 4.6 takes speed fast and reports
    standard; a request without speed runs standard."""
    extra = {"speed": "fast"} if model != "claude-sonnet-5" else {}
    usage = client.beta.messages.create(
        model=model,
        max_tokens=20,
        messages=[{"role": "user", "content": "hi"}],
        betas=["fast-mode-2026-02-01"],
        **extra,
    ).usage
    assert usage.speed == speed


def _system_message_body(message: dict) -> dict:
    return {
        "model": "claude-opus-5",
        "max_tokens": 20,
        "messages": [{"role": "user", "content": "hi"}, message],
    }


@pytest.mark.parametrize(
    ("message", "betas", "status", "fragment"),
    [
        ({"role": "system", "output_config": {"effort": "low"}}, OUTPUT_BETA, 200, ""),
        ({"role": "system", "output_config": {"effort": "low"}}, "", 400, "beta"),
        ({"role": "system", "output_config": {"format": {}}}, OUTPUT_BETA, 400, "format"),
        ({"role": "system", "content": "Be brief.", "output_config": {}}, OUTPUT_BETA, 200, ""),
        ({"role": "system"}, OUTPUT_BETA, 400, "content or output_config"),
        ({"role": "system", "content": "x", "clear_at": "next_user_message"}, "", 400, "clear_at"),
        (
            {"role": "system", "content": "x", "clear_at": "next_user_message"},
            "mid-conversation-system-clear-at-2026-08-21",
            200,
            "",
        ),
        (
            {"role": "system", "content": [{"type": "tool_removal", "tool": _REF}]},
            "",
            400,
            "mid-conversation-tool-changes-2026-07-01",
        ),
    ],
)
def test_system_message_fields_and_their_betas(sim, message, betas, status, fragment):
    """SDK 2.16's BetaSystemMessageParam: per-turn ``output_config`` (effort only; its beta),
    ``clear_at`` (its beta); neither content nor output_config is refused; tool changes need
    their beta header (mid-conversation-system-messages.md)."""
    body = _system_message_body(message)
    body["tools"] = [{"name": "get_weather", "input_schema": {"type": "object"}}]
    headers = {"anthropic-beta": betas} if betas else {}
    got, _, payload = raw_post(sim.base_url, "/v1/messages", body, headers=headers)
    assert got == status, payload
    if fragment:
        assert fragment in payload["error"]["message"]


def test_per_message_effort_keeps_the_cached_prefix(client):
    """An effort change sent as a system message's output_config leaves the prefix as it was
    (reference section 11: "changes effort without invalidating the cache"); the same change
    at the top level rewrites the messages."""
    long = "a long document " * 900
    first = [{"role": "user", "content": [{"type": "text", "text": long}]}]
    kw = {"model": "claude-opus-5", "max_tokens": 20, "cache_control": {"type": "ephemeral"}}
    said = client.messages.create(messages=first, **kw)
    turn = [
        *first,
        {"role": "assistant", "content": said.content},
        {"role": "user", "content": "and?"},
    ]
    per_message = client.beta.messages.create(
        messages=[*turn, {"role": "system", "output_config": {"effort": "low"}}],
        betas=[OUTPUT_BETA],
        **kw,
    ).usage
    assert per_message.cache_read_input_tokens == said.usage.cache_creation_input_tokens
    top_level = client.messages.create(messages=turn, output_config={"effort": "low"}, **kw).usage
    assert top_level.cache_read_input_tokens == 0


@pytest.mark.parametrize(
    ("token", "betas", "status"),
    [
        ("bogus", "", 400),  # strict: a token no refusal minted
        ({"token": "bogus", "mode": "best_effort"}, "fallback-credit-2026-07-01", 200),
        ({"token": "bogus", "mode": "best_effort"}, "", 400),  # the object form needs its beta
        ({"token": "", "mode": "best_effort"}, "fallback-credit-2026-07-01", 400),  # malformed
    ],
)
def test_fallback_credit_token(sim, token, betas, status):
    """SDK 2.16's ``fallback_credit_token``: strict redemption of an unknown token is a 400;
    best_effort is served at normal price and reports ``usage.fallback_credit`` not applied."""
    body = {
        "model": "claude-opus-5",
        "max_tokens": 20,
        "messages": [{"role": "user", "content": "hi"}],
        "fallback_credit_token": token,
    }
    headers = {"anthropic-beta": betas} if betas else {}
    got, _, payload = raw_post(sim.base_url, "/v1/messages", body, headers=headers)
    assert got == status, payload
    if status == 200:
        assert payload["usage"]["fallback_credit"]["status"]["type"] == "not_applied"
    else:
        assert "fallback_credit_token" in payload["error"]["message"]


@pytest.mark.parametrize("beta", ["efs-2026-10-01", "google-managed-data-controls-2026-09-01"])
def test_beta_names_new_in_sdk_2_16_are_accepted(client, beta):
    usage = client.beta.messages.create(
        model="claude-opus-5",
        max_tokens=20,
        messages=[{"role": "user", "content": "hi"}],
        betas=[beta],
    ).usage
    assert usage.output_tokens > 0
