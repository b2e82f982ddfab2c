"""MCP tools through a real server process (tests/mcp_tiny_server.py, the official SDK over stdio)
and the simulator: a turn with an approved call, a denied one (no process started), "always
allow", a server that crashes, one that hangs and one that writes garbage. Each failure reaches
the model as an error result and the user as a problem, and the turn ends."""

import asyncio
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mcp import types

from app.conversation.blocks import ToolResultBlock
from app.engine import events as ev
from app.engine.mcp_hub import (
    MAX_RESULT_CHARS,
    ConfigError,
    McpHub,
    McpTool,
    ServerConfig,
    api_name,
    parse_servers,
    result_text,
    unique_names,
)
from app.engine.session import Session
from app.engine.toolbox import ALWAYS, DENIED, DENY, ONCE
from app.ui.widgets.untrusted import literal
from tests.helpers import Harness, conversation

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
    assert names == sorted(names)
    assert {"tiny__add", "tiny__crash", "tiny__garbage", "tiny__hang"} <= set(names)


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


def call(hub, tool, arguments=None):
    """Start the tiny server, run one tool, stop everything: (text, is_error, hub)."""

    async def scenario():
        try:
            await hub.start("tiny")
            return await hub.call("tiny", tool, arguments or {})
        finally:
            await hub.stop_all()
            hub.close()

    text, is_error = asyncio.run(scenario())
    return text, is_error, hub


def test_a_server_gets_a_minimal_environment_and_never_the_api_key(monkeypatch):
    """Issue 25, point 1: a server with an env block was started with the whole environment."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-never-for-children")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "cloud-secret")
    config = ServerConfig("tiny", sys.executable, (SERVER,), (("GITHUB_TOKEN", "named"),))
    text, is_error, _ = call(McpHub([config]), "environment")
    names = set(text.split("\n"))
    assert not is_error and "PATH" in names and "GITHUB_TOKEN" in names
    assert "ANTHROPIC_API_KEY" not in names and "AWS_SECRET_ACCESS_KEY" not in names
    # Named in the entry, it is passed: the user's choice, written where they can see it.
    named = ServerConfig("tiny", sys.executable, (SERVER,), (("ANTHROPIC_API_KEY", "mine"),))
    text, _, _ = call(McpHub([named]), "environment")
    assert "ANTHROPIC_API_KEY" in text.split("\n")


def test_a_server_that_floods_its_stderr_uses_no_disk_and_little_memory(tmp_path, monkeypatch):
    """Issue 25, point 8: the server's stderr went to an uncapped temporary file (4.66 GB)."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    hub = tiny_hub()
    text, is_error, hub = call(hub, "chatter", {"megabytes": 64})
    assert (text, is_error) == ("said it all", False)
    log = hub.servers["tiny"].log
    assert log.total >= 64_000_000 and len(log.text()) <= log.keep
    assert list(tmp_path.iterdir()) == []


def test_tools_whose_names_meet_once_made_safe_stay_two_tools_with_their_own_names():
    """Issue 25, point 12: ``a/b`` and ``a_b`` both became ``tiny__a_b`` and every turn failed
    with "Tool names must be unique"."""
    hub = tiny_hub()
    asyncio.run(hub.start("tiny"))
    try:
        tools = hub.tools()
        names = [t.api_name for t in tools]
        assert len(names) == len(set(names))
        by_own = {t.name: t for t in tools}
        assert by_own["a_b"].api_name == "tiny__a_b"
        slash = by_own["a/b"]
        assert (
            slash.api_name.startswith("tiny__a_b_")
            and "tiny: a/b" in slash.definition().description
        )
        assert hub.find(slash.api_name).name == "a/b"
        assert asyncio.run(hub.call("tiny", "a/b", {})) == ("slash", False)
        # The same tool gets the same name on every launch: the cached prefix survives.
        assert api_name("tiny", "a/b") == slash.api_name
        # Two names valid as they are but equal once joined both get the hashed form.
        meet = unique_names([McpTool("a__", "b", "", "{}"), McpTool("a", "_b", "", "{}")])
        assert len({t.api_name for t in meet}) == 2
    finally:
        hub.close()


def test_a_server_that_never_speaks_mcp_fails_with_a_sentence_not_a_task_group():
    """Issue 25, point 16: a silent server failed after ~33 s with "unhandled errors in a
    TaskGroup"."""
    hub = McpHub([ServerConfig("tiny", sys.executable, (SERVER, "--silent"))], start_timeout_s=1.5)
    try:
        state = asyncio.run(hub.start("tiny"))
    finally:
        hub.close()
    assert state.status == "failed"
    assert "did not answer the MCP handshake in 2 s" in state.error
    assert "TaskGroup" not in state.error


def test_a_command_that_writes_garbage_is_named_as_not_mcp(tmp_path):
    script = tmp_path / "noise.py"
    script.write_text("import time\nprint('hello, I am not MCP', flush=True)\ntime.sleep(60)\n")
    hub = McpHub([ServerConfig("tiny", sys.executable, (str(script),))], start_timeout_s=1.5)
    try:
        state = asyncio.run(hub.start("tiny"))
    finally:
        hub.close()
    assert state.status == "failed" and "not MCP" in state.error, state.error


CONTENT = st.one_of(
    st.builds(lambda text: types.TextContent(type="text", text=text), st.text(max_size=300)),
    st.builds(
        lambda data, mime: types.ImageContent(type="image", data=data, mime_type=mime),
        st.text(max_size=20),
        st.text(max_size=20),
    ),
    st.builds(
        lambda data: types.AudioContent(type="audio", data=data, mime_type="audio/wav"),
        st.text(max_size=20),
    ),
)


@settings(max_examples=200, deadline=None)
@given(content=st.lists(CONTENT, max_size=6), is_error=st.booleans(), huge=st.booleans())
def test_any_mcp_result_becomes_bounded_text_for_the_model_and_plain_lines_for_the_user(
    content, is_error, huge
):
    if huge:
        content = [*content, types.TextContent(type="text", text="<img src='/etc/x'>" * 20_000)]
    result = types.CallToolResult(content=content, is_error=is_error)
    text, flagged = result_text(result)
    assert flagged is is_error and text
    assert len(text) <= MAX_RESULT_CHARS + 100
    # The model's result goes through the pane's literal path; the user sees a plain line.
    shown = literal(text, 200)
    assert "![" not in shown and "<img" not in shown.replace("\\<", "")


def test_a_server_added_with_the_form_lands_in_the_json_checked_as_the_file_is():
    """Issue 28: the servers dialog was a raw JSON box; the form adds a stdio server (command,
    arguments as a shell splits them, environment) or an HTTP one, and the JSON stays editable."""
    from app.engine.mcp_hub import add_server, parse_servers

    text = add_server("", "files", "npx", '-y "@scope/server files" /tmp', "ROOT=/tmp, MODE=ro")
    text = add_server(text, "remote", "https://example.org/mcp")
    files, remote = parse_servers(text)
    assert files.args == ("-y", "@scope/server files", "/tmp")
    assert dict(files.env) == {"ROOT": "/tmp", "MODE": "ro"} and remote.url.endswith("/mcp")
    with pytest.raises(ConfigError, match="already configured"):
        add_server(text, "files", "other")
    with pytest.raises(ConfigError, match="NAME=value"):
        add_server(text, "third", "cmd", "", "oops")
    with pytest.raises(ConfigError, match="use letters"):
        add_server(text, "bad name!", "cmd")


def test_a_refused_elicitation_says_so_in_the_servers_words_and_the_server_goes_on():
    """Issue 40, point 5: a tool that asked for input (an MCP elicitation, which the app does not
    offer) came back as "failed: Elicitation not supported (it said: ... details.)", quoting a
    start-up warning of the server, and the server was stopped."""
    hub = tiny_hub()

    async def scenario():
        try:
            await hub.start("tiny")
            asked = await hub.call("tiny", "ask", {})
            after = await hub.call("tiny", "add", {"a": 1, "b": 2})
            return asked, after, hub.servers["tiny"].status
        finally:
            await hub.stop_all()
            hub.close()

    (text, is_error), after, status = asyncio.run(scenario())
    assert is_error and "answered the call with an error: Elicitation not supported" in text
    assert "asked for input while it ran (an MCP elicitation)" in text
    assert "it said" not in text and "details." not in text
    assert after == ("3", False) and status == "running"


def test_a_result_too_slow_to_read_says_so_and_quotes_nothing_older_than_the_call():
    """Issue 40, point 5: a 50 MB result ended as "did not answer in time (it said: ...
    details.)": the tail of the server's start-up warnings, not about the call at all."""
    text, is_error, hub = call(tiny_hub(call_timeout_s=2.0), "huge", {"megabytes": 50})
    assert is_error and "did not answer in 2 s" in text
    assert "a result of many megabytes is read that slowly: ask the tool for less" in text
    assert "it said" not in text and "details." not in text


def test_what_a_server_says_as_it_dies_during_the_call_is_quoted():
    text, is_error, _ = call(tiny_hub(), "die_saying", {"words": "fatal: the index is locked"})
    assert is_error and "the server process ended" in text
    assert "(it said: fatal: the index is locked)" in text
