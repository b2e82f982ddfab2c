"""Structured outputs against the simulator, each from build-with-claude/structured-outputs.md."""

import json

import anthropic
import jsonschema
import pytest
from pydantic import BaseModel

from tests.helpers import SONNET_46, api_message, block

QUICK_START = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "email": {"type": "string"},
        "plan_interest": {"type": "string"},
        "demo_requested": {"type": "boolean"},
    },
    "required": ["name", "email", "plan_interest", "demo_requested"],
    "additionalProperties": False,
}
EMAIL = (
    "Extract the key information from this email: John Smith (john@example.com) is interested "
    "in our Enterprise plan and wants to schedule a demo for next Tuesday at 2pm."
)


def structured(client, schema, **kw):
    kw.setdefault("messages", [{"role": "user", "content": EMAIL}])
    return client.messages.create(
        model=kw.pop("model", "claude-opus-5"),
        max_tokens=kw.pop("max_tokens", 1024),
        output_config={"format": {"type": "json_schema", "schema": schema}},
        **kw,
    )


def test_quick_start_reply_is_json_matching_the_schema(client):
    """ "Quick start" / "How it works": the response is valid JSON matching the schema, in the
    text content block."""
    reply = structured(client, QUICK_START)
    assert [b.type for b in reply.content] == ["text"]
    value = json.loads(reply.content[0].text)
    jsonschema.validate(value, QUICK_START)
    assert value["name"] and value["email"] and value["plan_interest"]


NESTED = {
    "type": "object",
    "properties": {
        "notes": {"type": "string"},
        "name": {"type": "string"},
        "email": {"type": "string", "format": "email"},
        "age": {"type": "integer"},
        "score": {"type": "number"},
        "when": {"type": "string", "format": "date-time"},
        "id": {"type": "string", "format": "uuid"},
        "kind": {"type": "string", "enum": ["lead", "customer"]},
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "address": {"$ref": "#/$defs/address"},
        "nickname": {"anyOf": [{"type": "null"}, {"type": "string"}]},
        "fixed": {"const": "v1"},
    },
    "required": ["name", "email"],
    "additionalProperties": False,
    "$defs": {
        "address": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "zip": {"type": "string"}},
            "required": ["city", "zip"],
            "additionalProperties": False,
        }
    },
}


def test_every_supported_feature_gets_a_plausible_value_of_its_type(client):
    """ "JSON Schema limitations", supported features: each field holds a value of its type
    (formats, enum, const, $ref, anyOf), numbers are not zero and strings not empty; required
    properties come first, then optional ones in schema order ("Property ordering")."""
    value = json.loads(structured(client, NESTED).content[0].text)
    jsonschema.validate(value, NESTED, format_checker=jsonschema.FormatChecker())
    assert list(value)[:3] == ["name", "email", "notes"]
    assert value["age"] > 0 and value["score"] != 0 and value["tags"] and value["notes"]
    assert value["kind"] in ("lead", "customer") and value["fixed"] == "v1"


def test_a_reply_streams_the_same_json(client):
    """ "Feature compatibility": structured outputs stream like normal responses."""
    with client.messages.stream(
        model="claude-opus-5",
        max_tokens=1024,
        messages=[{"role": "user", "content": EMAIL}],
        output_config={"format": {"type": "json_schema", "schema": QUICK_START}},
    ) as stream:
        text = "".join(stream.text_stream)
    jsonschema.validate(json.loads(text), QUICK_START)


@pytest.mark.parametrize(
    ("schema", "named"),
    [
        ({**QUICK_START, "properties": {"n": {"type": "integer", "minimum": 1}}}, "minimum"),
        ({**QUICK_START, "properties": {"n": {"type": "number", "maximum": 9}}}, "maximum"),
        ({**QUICK_START, "properties": {"n": {"type": "integer", "multipleOf": 2}}}, "multipleOf"),
        ({**QUICK_START, "properties": {"s": {"type": "string", "minLength": 2}}}, "minLength"),
        ({**QUICK_START, "properties": {"a": {"type": "array", "minItems": 2}}}, "minItems"),
        ({**QUICK_START, "properties": {"a": {"type": "array", "maxItems": 3}}}, "maxItems"),
        ({**QUICK_START, "additionalProperties": True}, "additionalProperties"),
        ({**QUICK_START, "additionalProperties": {"type": "string"}}, "additionalProperties"),
        ({**QUICK_START, "properties": {"e": {"enum": [{"a": 1}]}}}, "enum"),
        ({**QUICK_START, "properties": {"r": {"$ref": "http://x/s.json"}}}, "external"),
        (
            {
                "type": "object",
                "properties": {"node": {"$ref": "#/$defs/node"}},
                "$defs": {
                    "node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/node"}}}
                },
            },
            "recursive",
        ),
        ({**QUICK_START, "properties": {"s": {"type": "string", "pattern": r"(a)\1"}}}, "pattern"),
        ({**QUICK_START, "properties": {"s": {"type": "string", "pattern": r"\bx"}}}, "pattern"),
    ],
)
def test_unsupported_schema_features_are_400s_json_schema_limitations(client, schema, named):
    """ "JSON Schema limitations", Not supported: "If you use an unsupported feature, you'll
    receive a 400 error with details"."""
    with pytest.raises(anthropic.BadRequestError) as err:
        structured(client, schema)
    assert named in api_message(err)


def strict_tool(i: int, optional: int = 0) -> dict:
    props = {"q": {"type": "string"}} | {f"o{k}": {"type": "string"} for k in range(optional)}
    return {
        "name": f"tool_{i}",
        "description": "A strict tool.",
        "strict": True,
        "input_schema": {
            "type": "object",
            "properties": props,
            "required": ["q"],
            "additionalProperties": False,
        },
    }


def test_more_than_20_strict_tools_is_a_400_schema_complexity_limits(client):
    """ "Explicit limits": at most 20 tools with strict: true; non-strict tools do not count."""
    ask = [{"role": "user", "content": "hi"}]
    tools = [strict_tool(i) for i in range(20)] + [{**strict_tool(20), "strict": False}]
    client.messages.create(model=SONNET_46, max_tokens=20, tools=tools, messages=ask)
    with pytest.raises(anthropic.BadRequestError) as err:
        client.messages.create(
            model=SONNET_46, max_tokens=20, tools=[*tools, strict_tool(21)], messages=ask
        )
    assert "strict" in api_message(err)


def test_optional_parameters_over_24_across_strict_schemas_is_a_400(client):
    """ "Explicit limits": 24 optional parameters across all strict schemas of a request (the
    docs' own example: 4 strict tools with 6 optional parameters each reach it)."""
    ask = [{"role": "user", "content": "hi"}]
    tools = [strict_tool(i, optional=6) for i in range(4)]
    client.messages.create(model=SONNET_46, max_tokens=20, tools=tools, messages=ask)
    with pytest.raises(anthropic.BadRequestError) as err:
        client.messages.create(
            model=SONNET_46, max_tokens=20, tools=[*tools, strict_tool(9, 1)], messages=ask
        )
    assert "optional" in api_message(err)


def test_citations_with_a_format_is_a_400_feature_compatibility(client):
    """ "Feature compatibility": "Returns 400 error if citations enabled with
    output_config.format"; prefilling is incompatible too."""
    document = {
        "type": "document",
        "source": {"type": "text", "media_type": "text/plain", "data": "The sky is blue."},
        "citations": {"enabled": True},
    }
    with pytest.raises(anthropic.BadRequestError) as err:
        structured(
            client,
            QUICK_START,
            messages=[{"role": "user", "content": [document, {"type": "text", "text": "Why?"}]}],
        )
    assert "citations" in api_message(err)
    with pytest.raises(anthropic.BadRequestError) as err:
        structured(
            client,
            QUICK_START,
            messages=[
                {"role": "user", "content": EMAIL},
                {"role": "assistant", "content": "{"},
            ],
        )
    assert "prefill" in api_message(err)


def test_changing_the_format_invalidates_the_messages_cache_prompt_modification(client):
    """ "Prompt modification and token costs": "Changing the output_config.format parameter will
    invalidate any prompt cache for that conversation thread"; the same format reads it; the
    injected prompt costs input tokens."""
    messages = [{"role": "user", "content": [block(3000, "a long contract", cache=True)]}]
    first = structured(client, QUICK_START, model=SONNET_46, messages=messages).usage
    same = structured(client, QUICK_START, model=SONNET_46, messages=messages).usage
    other = {**QUICK_START, "properties": {**QUICK_START["properties"], "x": {"type": "string"}}}
    changed = structured(client, other, model=SONNET_46, messages=messages).usage
    assert first.cache_creation_input_tokens > 3000
    assert same.cache_read_input_tokens == first.cache_creation_input_tokens
    assert changed.cache_read_input_tokens == 0
    plain = client.messages.count_tokens(model=SONNET_46, messages=messages).input_tokens
    assert first.cache_creation_input_tokens + first.input_tokens > plain


class User(BaseModel):
    name: str
    age: int


def test_the_sdk_parse_helper_gets_a_plausible_model(client):
    """ "Using native schema definitions": ``client.messages.parse`` with a Pydantic model gets
    an instance with plausible values (an ``age`` that is not 0)."""
    parsed = client.messages.parse(
        model="claude-opus-5",
        max_tokens=1024,
        messages=[{"role": "user", "content": "Jason is 25 years old."}],
        output_format=User,
    ).parsed_output
    assert isinstance(parsed, User) and parsed.name and parsed.age > 0


def test_a_forced_tool_call_fills_its_schema_with_plausible_values(client):
    """Strict tool use ("Guarantee schema validation on tool names and inputs"): a forced call's
    input matches the schema, with numbers that are not zero (instructor parsed ``age=0``)."""
    schema = User.model_json_schema() | {"additionalProperties": False}
    reply = client.messages.create(
        model=SONNET_46,
        max_tokens=200,
        tools=[{"name": "User", "description": "A user.", "input_schema": schema, "strict": True}],
        tool_choice={"type": "tool", "name": "User"},
        messages=[{"role": "user", "content": "Jason is 25 years old."}],
    )
    call = next(b for b in reply.content if b.type == "tool_use")
    jsonschema.validate(call.input, schema)
    assert call.input["age"] > 0 and call.input["name"]
