"""What Claude's features add to a conversation survives a save and a load, and the models'
thinking and effort come from /v1/models' capabilities when it lists them."""

from app.conversation.blocks import RawBlock, TextBlock, tool_change
from app.conversation.conversation import Conversation
from app.facts.catalogue import default_catalogue


def test_effort_server_tools_instructions_and_kept_blocks_round_trip():
    conv = Conversation(model="claude-opus-5", effort="low", server_tools=("web_search",))
    conv.thinking = {"type": "adaptive"}
    conv.add_user_text("hello")
    search = {"type": "web_search_tool_result", "tool_use_id": "s1", "content": []}
    conv.add("assistant", RawBlock.create(search), TextBlock("said", '[{"title":"A"}]'))
    conv.pending = (TextBlock("Answer in French."), tool_change("tool_removal", "clock"))
    back = Conversation.from_dict(conv.to_dict())
    assert (back.effort, back.server_tools, back.thinking) == (
        "low",
        ("web_search",),
        conv.thinking,
    )
    assert back.messages[1].api_content == conv.messages[1].api_content
    assert back.pending[1].to_api() == {
        "type": "tool_removal",
        "tool": {"type": "tool_reference", "name": "clock"},
    }
    # The pending instruction goes right after the next user message, as the API requires.
    back.add_user_text("next")
    assert [m.role for m in back.messages] == ["user", "assistant", "user", "system"]
    assert back.pending == () and back.messages[-1].text == "Answer in French."


def test_capabilities_from_the_models_list_replace_the_data_files():
    catalogue = default_catalogue()
    listed = [
        {
            "id": "claude-opus-5",
            "capabilities": {
                "thinking": {
                    "supported": True,
                    "types": {"adaptive": {"supported": True}, "enabled": {"supported": False}},
                },
                "effort": {
                    "supported": True,
                    "low": {"supported": True},
                    "high": {"supported": True},
                    "max": {"supported": False},
                },
            },
        }
    ]
    model = catalogue.adopt(listed).require("claude-opus-5")
    assert model.thinking.accepts == ("adaptive",)
    assert model.effort.levels == ("low", "high") and model.effort.default == "high"


def test_a_withdrawn_tool_is_known_until_it_is_offered_again():
    conv = Conversation(model="claude-opus-5")
    conv.add_user_text("one")
    conv.pending = (tool_change("tool_removal", "clock"),)
    assert conv.withdrawn_tools() == {"clock"}  # pending counts: the dialog shows it unchecked
    conv.add_user_text("two")
    conv.pending = (tool_change("tool_addition", "clock"),)
    assert conv.withdrawn_tools() == set()


def test_docs_example_tool_removal_after_say_ok_is_accepted_with_the_beta(client):
    """mid-conversation-system-messages.md, "Mid-conversation tool changes": get_weather is
    declared, then withdrawn by a system message after "Say OK."; the builder adds the beta."""
    import anthropic
    import pytest

    from app.caching.builder import TOOL_CHANGES_BETA, RequestBuilder
    from app.conversation.blocks import ToolDefinition

    weather = ToolDefinition.create(
        "get_weather",
        "Get the current weather for a location.",
        {
            "type": "object",
            "properties": {"location": {"type": "string", "description": "City name"}},
            "required": ["location"],
        },
    )
    conv = Conversation(model="claude-opus-5", tools=(weather,))
    conv.add_user_text("Say OK.")
    conv.add_instruction(tool_change("tool_removal", "get_weather"))
    built = RequestBuilder().build(conv, "none")
    assert built.betas == (TOOL_CHANGES_BETA,)
    headers = {"anthropic-beta": ",".join(built.betas)}
    reply = client.messages.create(**built.body, extra_headers=headers)
    assert "tool `get_weather` removed" in reply.content[-1].text
    # A reference to a tool that is not declared is the docs' 400.
    body = dict(built.body, tools=[])
    with pytest.raises(anthropic.BadRequestError):
        client.messages.create(**body, extra_headers=headers)
