"""MCP tools through a real server process (tests/mcp_tiny_server.py, the official SDK over stdio)
and the simulator: a turn with an approved call, a denied one (no process started), "always
allow", a server that crashes, one that hangs and one that writes garbage. Each failure reaches
the model as an error result and the user as a problem, and the turn ends."""

import asyncio
import sys
from pathlib import Path

import pytest

from app.conversation.blocks import ToolResultBlock
from app.engine import events as ev
from app.engine.mcp_hub import ConfigError, McpHub, ServerConfig, parse_servers
from app.engine.session import Session
from app.engine.toolbox import ALWAYS, DENIED, DENY, ONCE
from tests.test_engine import Harness, conversation

SERVER = str(Path(__file__).with_name("mcp_tiny_server.py"))


def tiny_hub(call_timeout_s=20.0):
    return McpHub([ServerConfig("tiny", sys.executable, (SERVER,))], call_timeout_s=call_timeout_s)


async def turn_with(sim, hub, answers, text):
    """One turn asking the simulator to call a tiny tool; ``answers`` are the user's decisions,
    in order. Returns (session, harness, the approval requests seen)."""
    asked = []

    async def approve(request):
        asked.append(request)
        return answers[len(asked) - 1]

    h = Harness(sim.base_url)
    h.engine.toolbox.hub = hub
    h.engine.toolbox.approve = approve
    if hub.servers["tiny"].status != "running":
        await hub.start("tiny")
    session = Session(conversation(tools=[t.definition() for t in hub.tools()]))
    session.conversation.add_user_text(text)
    await h.engine.start_turn(session)
    return session, h, asked


def results(session):
    return [
        b for m in session.conversation.messages for b in m.blocks if isinstance(b, ToolResultBlock)
    ]


def test_servers_config_in_the_mcpServers_shape_with_clear_errors():
    text = (
        '{"mcpServers": {"web": {"url": "http://127.0.0.1:9/mcp"},'
        ' "files": {"command": "npx", "args": ["-y", "server"], "env": {"ROOT": "/tmp"}}}}'
    )
    files, web = parse_servers(text)
    assert (files.name, files.command, files.args, files.env) == (
        "files",
        "npx",
        ("-y", "server"),
        (("ROOT", "/tmp"),),
    )
    assert web.url == "http://127.0.0.1:9/mcp"
    for bad, says in (
        ("{", "Not JSON"),
        ('{"servers": {}}', "mcpServers"),
        ('{"mcpServers": {"a b": {"command": "x"}}}', "Server name"),
        ('{"mcpServers": {"a": {"command": "x", "url": "http://h"}}}', "either a command or a url"),
        ('{"mcpServers": {"a": {"command": "x", "args": "-v"}}}', "args"),
    ):
        with pytest.raises(ConfigError, match=says):
            parse_servers(bad)


def test_an_approved_call_runs_on_the_server_and_its_result_reaches_the_model(sim):
    async def scenario():
        hub = tiny_hub()
        try:
            session, h, asked = await turn_with(sim, hub, [ONCE], 'Use tiny__add {"a": 2, "b": 40}')
        finally:
            await hub.stop_all()
            hub.close()
        return session, h, asked, hub

    session, h, asked, hub = asyncio.run(scenario())
    assert [(r.server, r.tool, r.arguments_json) for r in asked] == [
        ("tiny", "add", '{"a":2,"b":40}')
    ]
    (result,) = results(session)
    assert (result.text, result.is_error) == ("42", False)
    assert "The tool returned: 42" in session.conversation.messages[-1].text
    # Tool names are sorted, so the definitions never reorder between launches.
    names = [t.name for t in session.conversation.tools]
    assert names == sorted(names) == ["tiny__add", "tiny__crash", "tiny__garbage", "tiny__hang"]


def test_a_denied_call_starts_nothing_and_tells_the_model(sim):
    async def scenario():
        hub = tiny_hub()
        asked = []

        async def approve(request):
            asked.append(request)
            return DENY

        h = Harness(sim.base_url)
        h.engine.toolbox.hub, h.engine.toolbox.approve = hub, approve
        # The tools are known from an earlier launch; the server is not running.
        await hub.start("tiny")
        tools = [t.definition() for t in hub.tools()]
        await hub.stop("tiny")
        session = Session(conversation(tools=tools))
        session.conversation.add_user_text('tiny__add {"a": 1, "b": 1}')
        await h.engine.start_turn(session)
        hub.close()
        return session, asked, hub

    session, asked, hub = asyncio.run(scenario())
    assert len(asked) == 1
    (result,) = results(session)
    assert (result.text, result.is_error) == (DENIED, True)
    assert hub.servers["tiny"].status == "stopped"  # never started again for the denied call


def test_always_allow_is_remembered_per_server_and_tool(sim):
    async def scenario():
        hub = tiny_hub()
        saved = []
        h = Harness(sim.base_url)
        h.engine.toolbox.remember = lambda always: saved.append(
            {k: set(v) for k, v in always.items()}
        )
        asked = []

        async def approve(request):
            asked.append(request)
            return ALWAYS

        h.engine.toolbox.hub, h.engine.toolbox.approve = hub, approve
        await hub.start("tiny")
        session = Session(conversation(tools=[t.definition() for t in hub.tools()]))
        for text in ('tiny__add {"a": 1, "b": 2}', 'tiny__add {"a": 3, "b": 4}'):
            session.conversation.add_user_text(text)
            await h.engine.start_turn(session)
        await hub.stop_all()
        hub.close()
        return session, asked, saved

    session, asked, saved = asyncio.run(scenario())
    assert len(asked) == 1  # the second call was not asked about
    assert [r.text for r in results(session)] == ["3", "7"]
    assert saved == [{"tiny": {"add"}}]


@pytest.mark.parametrize(
    ("tool", "says"),
    [("crash", "process ended"), ("garbage", "process ended"), ("hang", "did not answer")],
)
def test_a_failing_server_gives_an_error_result_and_a_message(sim, tool, says):
    async def scenario():
        hub = tiny_hub(call_timeout_s=2.0)
        try:
            return await turn_with(sim, hub, [ONCE], f"tiny__{tool}"), hub
        finally:
            await hub.stop_all()
            hub.close()

    (session, h, asked), hub = asyncio.run(scenario())
    (result,) = results(session)
    assert result.is_error and says in result.text
    (ran,) = h.of(ev.ToolRan)
    assert ran.problem.startswith("MCP server tiny:") and says in ran.problem
    assert h.of(ev.Finished)  # the turn went on to the model's answer
    assert "The tool returned: MCP server 'tiny'" in session.conversation.messages[-1].text
