"""Claude's features in the window, offscreen, on the simulator: the price of an effort, thinking
or web-search switch shown before it is paid; thinking kept with its signature; search results
and citations drawn and billed; an instruction that keeps the cache; the tool approval dialog."""

import asyncio
import sys

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox, QMessageBox

from app.conversation.blocks import RawBlock, TextBlock, ThinkingBlock, ToolResultBlock
from app.engine.mcp_hub import McpHub, ServerConfig
from app.engine.toolbox import ApprovalRequest
from tests.test_mcp_tools import SERVER
from tests.test_ui_panels import run_turn
from tests.uikit import make_window, until

OPUS_5 = "claude-opus-5"


def opus_window(qtbot, sim):
    window, client = make_window(sim.base_url, system_tokens=6000)
    qtbot.addWidget(window)
    window.session.conversation.model = OPUS_5
    return window, client


def click(box: QMessageBox, text: str) -> None:
    next(b for b in box.buttons() if b.text() == text).click()


def test_an_effort_switch_says_what_it_costs_first_and_thinking_is_kept(qtbot, loop, sim):
    """On a model without mid-conversation system messages (Sonnet 5) an effort switch changes
    the top-level effort, and says what it costs before it is made."""
    window, client = opus_window(qtbot, sim)
    conv = window.session.conversation
    conv.model = "claude-sonnet-5"

    async def scenario():
        await run_turn(window, "first question")
        box = window.claude.choose_effort("low")
        said = box.text()
        click(box, "Keep it as it is")
        kept = conv.effort
        click(box := window.claude.choose_effort("low"), "Change it")
        box = window.claude.choose_thinking("adaptive")  # adaptive is the default: nothing is lost
        await run_turn(window, "second question")
        await client.close()
        return said, kept, box

    said, kept, thinking_box = loop.run_until_complete(scenario())
    assert said.startswith("Switching effort to low invalidates ") and "more next turn" in said
    lost = int(said.split("invalidates ")[1].split(" ")[0].replace(",", ""))
    assert lost > 0 and "$" in said
    assert kept is None and conv.effort == "low"
    # Sonnet 5 returns its thinking omitted unless display is "summarized" (thinking.md): the
    # window, which shows thinking, asks for it when the user chooses a thinking mode.
    assert thinking_box is None
    assert conv.thinking == {"type": "adaptive", "display": "summarized"}
    reply = conv.messages[-1]
    (thought,) = [b for b in reply.blocks if isinstance(b, ThinkingBlock)]
    assert thought.signature and thought.thinking
    record = window.session.totals.records[-1]
    assert record.usage.thinking > 0 and "thinking" in window.sidebar.fields["output"].text()
    # The turn after the switch wrote again what the switch invalidated (the system prompt
    # stays readable: effort is rendered at the messages level on this model).
    assert record.usage.read >= 6000


def test_an_effort_switch_on_opus_5_goes_per_turn_and_costs_nothing_cached(qtbot, loop, sim):
    """Issue 27: on a model that takes system messages the switch is sent per turn, so it asks
    nothing, the next turn reads the prefix written before it, and the conversation shows the
    turn's effort where it was sent."""
    window, client = opus_window(qtbot, sim)
    conv = window.session.conversation

    async def scenario():
        await run_turn(window, "first question")
        box = window.claude.choose_effort("low")
        await run_turn(window, "second question")
        await client.close()
        return box

    box = loop.run_until_complete(scenario())
    assert box is None and conv.effort is None and conv.turn_effort == "low"
    first, second = window.session.totals.records[-2:]
    assert second.usage.read >= first.usage.read + first.usage.write - 1
    assert conv.messages[-2].effort == "low"
    shown = [row.body for row in window.view.rows() if "Effort for this reply" in row.body]
    assert shown and "Effort for this reply: low" in shown[-1]


def test_web_search_shows_results_and_citations_and_is_billed(qtbot, loop, sim):
    window, client = opus_window(qtbot, sim)
    conv = window.session.conversation

    async def scenario():
        assert window.claude.toggle_web_search() is None  # no turn yet: nothing cached to lose
        await run_turn(window, "Please search for prompt caching")

    loop.run_until_complete(scenario())
    reply = conv.messages[-1]
    kinds = [b.kind for b in reply.blocks if isinstance(b, RawBlock)]
    assert kinds == ["server_tool_use", "web_search_tool_result"]
    cited = [b for b in reply.blocks if isinstance(b, TextBlock) and b.citations_json]
    assert cited and cited[0].citations[0]["type"] == "web_search_result_location"
    text = window.view.plain_text()
    assert "web search, 3 results" in text and "Sources:" in text
    record = window.session.totals.records[-1]
    assert record.usage.web_searches == 1
    assert "1 web search: $0.01" in window.sidebar.fields["cost"].text()
    # Sent back exactly as received: the next turn is accepted by the simulator's checks.
    loop.run_until_complete(run_turn(window, "thanks"))
    loop.run_until_complete(client.close())
    assert not window.session.totals.records[-1].error


def test_an_instruction_keeps_the_cache_where_editing_the_prompt_would_not(qtbot, loop, sim):
    window, client = opus_window(qtbot, sim)
    conv = window.session.conversation

    async def scenario():
        await run_turn(window, "first question")
        dialog = window.dialogs.edit_conversation_settings()
        dialog.system_edit.setPlainText(conv.system_text + "\nAnswer in French from now on.")
        assert dialog.refresh()
        ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).text()
        offer = dialog.instruction_button.text()
        dialog.instruction_button.click()
        await run_turn(window, "second question")
        await client.close()
        return ok, offer

    ok, offer = loop.run_until_complete(scenario())
    assert ok.startswith("Edit the system prompt (invalidates ")
    assert offer.startswith("Add as an instruction from here on (keeps ")
    roles = [m.role for m in conv.messages]
    assert roles[-3:] == ["user", "system", "assistant"]
    assert conv.messages[-2].text == "Answer in French from now on."
    assert "Answer in French" not in conv.system_text
    assert window.session.totals.records[-1].usage.read >= 6000  # the cache was kept
    assert "Answer in French" in conv.messages[-1].text  # the simulator saw the instruction


def test_models_without_mid_conversation_system_messages_get_only_the_edit(qtbot, loop, sim):
    window, client = make_window(sim.base_url)  # Sonnet 4.6
    qtbot.addWidget(window)
    loop.run_until_complete(run_turn(window, "first"))
    dialog = window.dialogs.edit_conversation_settings()
    dialog.system_edit.setPlainText(window.session.conversation.system_text + " More.")
    assert dialog.refresh()
    assert not dialog.instruction_button.isVisibleTo(dialog)
    loop.run_until_complete(client.close())


def test_the_approval_dialog_denies_by_default_and_cannot_be_answered_at_once(qtbot, loop, sim):
    window, client = make_window(sim.base_url)
    qtbot.addWidget(window)
    request = ApprovalRequest("tiny", "add", '{"a": 1, "b": 2}')

    async def scenario():
        asked = asyncio.ensure_future(window.claude.approve_tool(request))
        await until(lambda: window.claude.approval is not None)
        dialog = window.claude.approval
        armed_at_once = dialog.once.isEnabled() or dialog.always.isEnabled()
        shown = dialog.arguments.toPlainText()
        dialog.once.click()  # a click (or key) before the dialog is armed does nothing
        await asyncio.sleep(0.05)
        early = asked.done()
        from PySide6.QtCore import Qt
        from PySide6.QtTest import QTest

        QTest.keyClick(dialog, Qt.Key.Key_Return)  # Enter picks the default: Deny
        answer = await asyncio.wait_for(asked, 5)
        await client.close()
        return armed_at_once, shown, early, answer

    armed_at_once, shown, early, answer = loop.run_until_complete(scenario())
    assert not armed_at_once and not early
    assert '"a": 1' in shown
    assert answer == "deny"


def test_an_mcp_tool_runs_in_the_window_after_approval(qtbot, loop, sim):
    window, client = make_window(sim.base_url)
    qtbot.addWidget(window)
    hub = McpHub([ServerConfig("tiny", sys.executable, (SERVER,))])
    window.workspace.tools.hub = window.engine.toolbox.hub = hub
    conv = window.session.conversation

    async def scenario():
        await hub.start("tiny")
        dialog = window.claude.edit_tools()
        for i in range(dialog.list.count()):
            item = dialog.list.item(i)
            if item.text().startswith("tiny__add"):
                item.setCheckState(item.checkState().__class__.Checked)
        tokens_shown = [dialog.list.item(i).text() for i in range(dialog.list.count())]
        dialog.apply_button.click()
        window.composer.edit.setPlainText('tiny__add {"a": 20, "b": 22}')
        window.sending.send()
        claude = window.claude
        await until(lambda: claude.approval is not None and claude.approval.once.isEnabled())
        window.claude.approval.once.click()
        await until(lambda: not window.chat.busy())
        await hub.stop_all()
        await asyncio.to_thread(hub.close)
        await client.close()
        return tokens_shown

    tokens_shown = loop.run_until_complete(scenario())
    assert any(t.startswith("tiny__add · ") and " tokens · " in t for t in tokens_shown)
    assert [t.name for t in conv.tools] == ["tiny__add"]
    (result,) = [b for m in conv.messages for b in m.blocks if isinstance(b, ToolResultBlock)]
    assert result.text == "42" and not result.is_error
    assert "tool result: 42" in window.view.plain_text()


def test_servers_in_mcp_json_start_at_launch_and_a_sent_tool_is_shown_checked(
    qtbot, loop, sim, tmp_path
):
    """Issue 28: MCP servers did not start at launch, so a conversation using their tools got
    "Unknown tool 'tiny__add'" with no hint, and the Tools dialog showed the tool unchecked
    while its definition was still sent. A server marked disabled is kept and not started."""
    import json

    from app.conversation.blocks import ToolDefinition

    (tmp_path / "mcp.json").write_text(
        json.dumps(
            {
                "mcpServers": {
                    "tiny": {"command": sys.executable, "args": [SERVER]},
                    "spare": {"command": sys.executable, "args": [SERVER], "disabled": True},
                }
            }
        )
    )
    window, client = make_window(sim.base_url)
    qtbot.addWidget(window)
    conv = window.session.conversation
    conv.tools = (ToolDefinition("tiny__add", "[tiny] Add two numbers", '{"type": "object"}'),)
    window.claude.install_tools(tmp_path)  # what the launcher does, then:
    hub = window.workspace.tools.hub

    async def scenario():
        await window.claude.start_enabled_servers()
        dialog = window.claude.edit_tools()
        checked = {
            dialog.list.item(i).text().split(" ·")[0]
            for i in range(dialog.list.count())
            if dialog.list.item(i).checkState() == Qt.CheckState.Checked
        }
        dialog.reject()
        states = {n: s.status for n, s in hub.servers.items()}
        await hub.stop_all()
        await asyncio.to_thread(hub.close)
        await client.close()
        return checked, states

    checked, states = loop.run_until_complete(scenario())
    assert states == {"tiny": "running", "spare": "stopped"}
    assert "tiny__add" in checked


def test_a_tool_of_a_server_not_yet_started_starts_it_instead_of_failing(sim):
    """The call itself starts the enabled servers before saying a tool is unknown."""
    from app.conversation.blocks import ToolUseBlock
    from app.engine.toolbox import ToolBox

    hub = McpHub([ServerConfig("tiny", sys.executable, (SERVER,))])

    async def scenario():
        box = ToolBox(hub=hub, always={"tiny": {"add"}})
        done = await box.run(ToolUseBlock("toolu_1", "tiny__add", '{"a": 2, "b": 3}'))
        unknown = await box.run(ToolUseBlock("toolu_2", "tiny__nope", "{}"))
        await hub.stop_all()
        await asyncio.to_thread(hub.close)
        return done, unknown

    done, unknown = asyncio.run(scenario())
    assert done.text == "5" and not done.is_error
    assert unknown.is_error and "no MCP server that is running offers it" in unknown.text
