"""``cachescope-check`` (issue 38, part 3): a gate for CI over Claude Code sessions and project
folders, captured runs, exports and traces. Exit 0 when it holds, 1 with the reasons named, 2
with one line on stderr for an input that cannot be used, within a second."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.agents.sources import timestamp_in
from app.check.cli import main
from app.facts.catalogue import default_catalogue
from app.inspect.capture import ResponseReader
from app.inspect.observer import Observer
from tests.claude_code_sessions import (
    OPUS,
    SessionFile,
    growing_session,
    project_folder,
    session_id,
    usage,
)
from tests.helpers import SONNET_46, raw_post, text_of

ROOT = Path(__file__).resolve().parents[1]
TRACE = ROOT / "tests" / "perf" / "traces" / "short-chat.json"
SCHEMA = {"type": "object", "properties": {}}


def save(session, config):
    return session.save(project_folder(config) / f"{session.session_id}.jsonl")


def checked(capsys, *args):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def troubled_session(tmp_path) -> Path:
    """Twelve requests with three misses: a pause past the TTL, a model switch, a compaction."""
    session = growing_session(6, SessionFile(session_id(1)))
    session.prompt("back from a meeting", after_s=12 * 60)
    session.reply(usage(0, w5m=30_000))
    session.prompt("use Opus now")
    session.reply(usage(0, w5m=32_000), model=OPUS)
    session.compact()
    session.prompt("continue")
    session.reply(usage(18_000, w5m=4_000), model=OPUS)
    growing_session(3, session, system=22_000, model=OPUS, warm=True)
    return save(session, tmp_path)


def test_a_session_that_holds_exits_0(tmp_path, capsys):
    path = save(growing_session(8, SessionFile(session_id(2))), tmp_path)
    code, out, _ = checked(capsys, path, "--min-hit-rate", "0.7", "--max-miss-usd", "0.01")
    assert code == 0
    assert out.splitlines()[1] == "holds"


def test_a_session_that_fails_exits_1_with_each_reason_named_and_priced(tmp_path, capsys):
    path = troubled_session(tmp_path)
    code, out, _ = checked(capsys, path, "--min-hit-rate", "0.9", "--max-miss-usd", "0.05")
    assert code == 1
    assert "FAILS: hit rate" in out and "is under the minimum 90.0%" in out
    assert "over the budget $0.0500" in out
    assert "- pauses past the TTL: 1 request(s), $" in out
    assert "- a model switch: 1 request(s), $" in out
    assert "- compactions (the prefix shrank): 1 request(s), $" in out
    assert "request 7: a pause of 12 min past the 5m TTL; 28,000 tokens, $" in out
    assert "another model (claude-sonnet-4-5-20250929 → claude-opus-4-6)" in out


def test_the_json_object_has_the_keys_ci_scripts_read(tmp_path, capsys):
    path = troubled_session(tmp_path)
    code, out, _ = checked(capsys, path, "--json", "--max-miss-usd", "0.05")
    data = json.loads(out)
    assert code == 1 and data["holds"] is False
    for key in (
        "requests",
        "read",
        "written_5m",
        "written_1h",
        "uncached",
        "output",
        "cost_usd",
        "hit_rate",
        "misses",
        "holds",
    ):
        assert key in data
    assert data["requests"] == 12
    assert data["hit_rate"] == pytest.approx(
        data["read"] / (data["read"] + data["written_5m"] + data["written_1h"] + data["uncached"]),
        abs=1e-4,
    )
    assert sorted(m["reason"] for m in data["misses"]) == ["compaction", "model", "pause"]
    assert all({"request", "reason", "cost_usd"} <= m.keys() for m in data["misses"])
    costs = [m["cost_usd"] for m in data["misses"]]
    assert costs == sorted(costs, reverse=True)  # the costliest first


def test_a_project_folder_counts_every_session_and_its_subagents(tmp_path, capsys):
    first = growing_session(4, SessionFile(session_id(3)))
    path = save(first, tmp_path)
    sub = SessionFile(first.session_id, agent="abc1234")
    growing_session(3, sub, system=8_000).save(
        path.with_suffix("") / "subagents" / "agent-abc1234.jsonl"
    )
    save(growing_session(2, SessionFile(session_id(4))), tmp_path)
    code, out, _ = checked(capsys, project_folder(tmp_path), "--json")
    data = json.loads(out)
    assert code == 0 and data["requests"] == 4 + 3 + 2 and len(data["runs"]) == 2
    code, out, _ = checked(capsys, tmp_path / "projects", "--json")  # a whole projects folder
    assert json.loads(out)["requests"] == 9


def _observed(sim, bodies) -> list[dict]:
    """Each body sent to the simulator and seen by the inspector's own observer: its lines,
    as a captured run keeps them."""
    observer = Observer(default_catalogue())
    lines = []
    for body in bodies:
        raw = json.dumps(body).encode()
        pending = observer.request(raw, {"x-api-key": "test-key"})
        status, _, answer = raw_post(sim.base_url, "/v1/messages", raw)
        reader = ResponseReader("", streamed=False)
        reader.feed(json.dumps(answer).encode())
        line = observer.finish(pending, status, reader.close(), True)
        lines.append(line.as_dict())
    return lines


def test_a_captured_run_names_reordered_tools_a_timestamp_and_an_effort_switch(
    sim, tmp_path, capsys
):
    tools = [
        {"name": f"tool_{i}", "description": text_of(600, f"t{i}"), "input_schema": SCHEMA}
        for i in range(3)
    ]
    system = [{"type": "text", "text": text_of(2000, "rules")}]

    def body(turns, tool_list=tools, sys_blocks=system, effort=None):
        messages = []
        for i in range(turns):
            messages += [
                {"role": "user", "content": text_of(300, f"q{i}")},
                {"role": "assistant", "content": text_of(100, f"a{i}")},
            ]
        messages.append({"role": "user", "content": text_of(300, f"q{turns}")})
        out = {
            "model": SONNET_46,
            "max_tokens": 20,
            "tools": tool_list,
            "system": sys_blocks,
            "messages": messages,
            "cache_control": {"type": "ephemeral"},
        }
        if effort:
            out["output_config"] = {"effort": effort}
        return out

    stamped = [{"type": "text", "text": "Now: 2026-12-05 14:02:11. " + text_of(2000, "rules")}]
    bodies = [
        body(0),
        body(1),
        body(2, tool_list=[tools[1], tools[0], tools[2]]),
        body(3, tool_list=[tools[1], tools[0], tools[2]], sys_blocks=stamped),
        body(4, tool_list=[tools[1], tools[0], tools[2]], sys_blocks=stamped, effort="low"),
    ]
    path = tmp_path / "captured" / "run.jsonl"
    path.parent.mkdir()
    path.write_text("".join(json.dumps(line) + "\n" for line in _observed(sim, bodies)))
    code, out, _ = checked(capsys, path, "--json", "--max-miss-usd", "0")
    data = json.loads(out)
    assert code == 1
    said = {m["reason"]: m["words"] for m in data["misses"]}
    assert set(said) == {"tools", "system", "effort"}
    assert "the tool definitions changed at tools.0: tool_1 was moved" in said["tools"]
    assert "system.0, byte 0" in said["system"] and "2026-12-05 14:02:11" in said["system"]
    assert "the effort changed (the default → low)" in said["effort"]


def test_an_export_names_the_timestamp_in_the_system_prompt_and_its_byte(sim, tmp_path, capsys):
    from app.engine.session import Session
    from app.history.sessions import export_session
    from app.workspace.chat import Chat
    from tests.test_engine import Harness, conversation, run

    async def scenario():
        h = Harness(sim.base_url)
        chat = Chat(h.engine, Session(conversation(tokens=4000)))
        for text, stamp in (("First question", "14:02:11"), ("Second question", "14:04:40")):
            rules = text_of(3000, "rules")
            chat.conversation.set_system_text(f"Time now: 2026-12-05 {stamp}. {rules}")
            await chat.send(text)
            await h.sleep(60)
        path = tmp_path / "export.json"
        await export_session(chat.session, "json", path)
        await h.client.close()
        return path

    path = run(scenario())
    code, out, _ = checked(capsys, path, "--json")
    data = json.loads(out)
    (miss,) = [m for m in data["misses"] if m["reason"] == "system"]
    assert (
        "The system prompt holds a timestamp (“2026-12-05 14:04:40” at system.0, byte 10)"
        in (miss["words"])
    )
    assert code == 0  # no threshold: the gate reports and holds


def test_timestamps_are_found_with_their_byte_offset():
    assert timestamp_in("Heute ist 2026-12-05T09:30") == (10, "2026-12-05T09:30")
    assert timestamp_in("Zeit: é 09:30:12") == (9, "09:30:12")  # é is two bytes
    assert timestamp_in("no time here") is None


def test_a_trace_is_replayed_and_gated(tmp_path, capsys):
    trace = json.loads(TRACE.read_text())
    trace["events"].insert(8, {"wait": 0, "do": "set_system", "system_tokens": 1500})
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(trace))
    code, out, _ = checked(capsys, path, "--json", "--policy", "claude_code")
    data = json.loads(out)
    assert code == 0 and data["requests"] == 12
    assert any(m["reason"] == "system" for m in data["misses"])
    assert any("Claude Code's layout" in n for n in data["notes"])


BAD = {
    "empty.jsonl": b"",
    "binary.jsonl": bytes(range(256)) * 40,
    "notes.txt": b"just some notes\n",
    "damaged-export.json": b'{\n "format": "cachescope-conversation",\n "version": 1,\n',
    "wrong-export.json": b'{\n "format": "cachescope-conversation",\n "version": 1\n}\n',
    "only-a-summary.jsonl": b'{"type": "summary", "summary": "x", "leafUuid": "y"}\n',
    "array.json": b"[1, 2, 3]\n",
}


def _bad_inputs(tmp_path) -> list[Path]:
    paths = []
    for name, data in BAD.items():
        (tmp_path / name).write_bytes(data)
        paths.append(tmp_path / name)
    huge = tmp_path / "huge.json"
    with open(huge, "wb") as fh:  # a sparse 101 MB JSON document: refused unread
        fh.write(b"{\n")
        fh.truncate(101 * 1024 * 1024)
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)  # opening it would block forever: refused before it is opened
    empty_folder = tmp_path / "no-sessions"
    empty_folder.mkdir()
    return [*paths, huge, fifo, empty_folder, tmp_path / "missing.jsonl"]


def test_every_bad_input_is_one_line_on_stderr_exit_2_within_a_second(tmp_path, capsys):
    for path in _bad_inputs(tmp_path):
        started = time.perf_counter()
        code, out, err = checked(capsys, path)
        took = time.perf_counter() - started
        assert code == 2, (path, out, err)
        assert err.count("\n") == 1 and err.startswith("cachescope-check: "), (path, err)
        assert "Traceback" not in err and out == ""
        assert took < 1.0, (path, took)


def test_bad_options_are_one_line_and_exit_2(tmp_path, capsys):
    path = save(growing_session(2, SessionFile(session_id(5))), tmp_path)
    for args in (["--min-hit-rate", "2"], ["--max-miss-usd", "-1"], ["--min-hit-rate", "x"]):
        with pytest.raises(SystemExit) as exited:
            main([str(path), *args])
        assert exited.value.code == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("cachescope-check: ")


def test_the_installed_command_runs_as_the_ci_example_shows(tmp_path):
    """docs/agents.md's CI example: the console script, a project folder, exit code 1."""
    troubled_session(tmp_path)
    exe = Path(sys.executable).with_name("cachescope-check")
    folder = str(project_folder(tmp_path))
    done = subprocess.run(
        [str(exe), folder, "--min-hit-rate", "0.8", "--max-miss-usd", "0.05"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1 and "FAILS" in done.stdout and done.stderr == ""


def test_a_session_whose_first_line_is_a_9_mb_paste_is_still_a_session(tmp_path, capsys):
    session = SessionFile(session_id(6))
    session.prompt("x" * 9_000_000)
    session.reply(usage(0, w5m=2_300_000))
    # Claude Code writes sessionId and parentUuid before the message: the first 8 MB hold them
    code, out, err = checked(capsys, save(session, tmp_path), "--json")
    assert code == 0 and err == "" and json.loads(out)["requests"] == 1
