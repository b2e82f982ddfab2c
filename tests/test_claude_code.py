"""Claude Code sessions read from disk (issue 38, part 1): no key, nothing sent, the folder only
ever read. The fixtures are written by ``tests/claude_code_sessions.py`` in the shapes of the
public descriptions of the format (docs/agents.md names them); none is a real session."""

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.agents import transcript
from app.agents.calls import Pricer
from app.agents.claude_code import config_dirs, projects, sessions, title_of
from app.agents.reading import SessionReading, read_project, read_session
from app.agents.rewrites import pings_needed, rewrite_line
from app.facts.prices import library_cost
from tests.claude_code_sessions import (
    OPUS,
    SONNET,
    START,
    SessionFile,
    growing_session,
    project_folder,
    session_id,
    usage,
)

PRICER = Pricer()


def save(session: SessionFile, config, cut_last_line=False):
    folder = project_folder(config)
    return session.save(folder / f"{session.session_id}.jsonl", cut_last_line)


def run_of(path):
    return read_session(path, PRICER).run()


def test_each_response_counts_once_though_every_content_block_repeats_its_usage(tmp_path):
    """ccusage's createUniqueHash: message.id + requestId, or every total doubles."""
    session = SessionFile(session_id(1))
    session.prompt("Fix the tests")
    session.reply(usage(0, w5m=20_000, output=800), blocks=3, tools=("Read", "Bash"))
    path = save(session, tmp_path)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assistant = [line for line in lines if line["type"] == "assistant"]
    assert len(assistant) == 5  # thinking, two texts, two tool uses: five lines of one response
    assert sum(a["message"]["usage"]["cache_creation_input_tokens"] for a in assistant) == 100_000

    run = run_of(path)
    (call,) = run.calls
    assert (call.written_5m, call.output) == (20_000, 800)  # the last line's final output count
    assert call.tools == ("Read", "Bash")
    assert run.totals().written_5m == 20_000


def test_the_same_message_id_without_a_request_id_still_counts_once(tmp_path):
    session = SessionFile(session_id(2))
    session.prompt("hello")
    session.reply(usage(0, w5m=5_000), message_id="msg_same", request_id=None)
    for line in session.lines:
        line.pop("requestId", None)
    path = save(session, tmp_path)
    assert run_of(path).totals().requests == 1


def test_subagents_are_read_from_their_own_files_and_named(tmp_path):
    main = SessionFile(session_id(3))
    main.prompt("Explore the repo")
    main.reply(usage(0, w5m=18_000, output=200), tools=("Task",))
    path = save(main, tmp_path)
    for agent, reads in (("a1b2c3d", 3), ("e4f5a6b", 2)):
        sub = SessionFile(main.session_id, START + dt.timedelta(seconds=30), agent=agent)
        growing_session(reads, sub, system=9_000, step=1_000)
        sub.save(path.with_suffix("") / "subagents" / f"agent-{agent}.jsonl")
    run = run_of(path)
    shares = dict(run.per_agent())
    assert set(shares) == {"", "a1b2c3d", "e4f5a6b"}
    assert shares["a1b2c3d"].requests == 3 and shares["e4f5a6b"].requests == 2
    assert shares["a1b2c3d"].read == 9_000 + 10_000
    assert run.totals().requests == 6
    assert all(c.agent == "a1b2c3d" for c in run.threads["a1b2c3d"])


def test_sidechain_lines_in_the_session_file_are_their_own_thread(tmp_path):
    """Older versions wrote subagents into the session file with isSidechain and agentId."""
    main = growing_session(2, SessionFile(session_id(4)))
    side = SessionFile(main.session_id, START, agent="old1")
    growing_session(2, side, system=5_000, step=500)
    main.lines += side.lines
    run = run_of(save(main, tmp_path))
    assert set(run.threads) == {"", "old1"}
    assert run.misses == []  # the sidechain's cold start is not a miss of the main thread


def test_a_session_resumed_the_next_day_misses_once_and_spends_on_two_days(tmp_path):
    session = growing_session(4, SessionFile(session_id(5)))
    session.prompt("Good morning, where were we?", after_s=20 * 3600)
    session.reply(usage(0, w5m=26_000))
    run = run_of(save(session, tmp_path))
    (miss,) = run.misses
    assert miss.reason == "pause" and miss.request == 5
    assert miss.words == "a pause of 20 h past the 5m TTL"
    assert miss.tokens == 24_000  # what the request before had cached
    assert miss.cost_usd == pytest.approx(
        library_cost(SONNET, START, 3, 0, 26_000, 0, 50)
        - library_cost(SONNET, START, 3, 24_000, 2_000, 0, 50)
    )
    days = run.per_day(dt.UTC)
    assert [d for d, _ in days] == [dt.date(2026, 11, 16), dt.date(2026, 11, 17)]
    assert days[1][1].requests == 1 and days[1][1].hit_rate == 0.0
    assert run.pause_before[run.calls[4].key] > 20 * 3600


def test_a_model_switch_is_named_with_both_models(tmp_path):
    session = growing_session(3, SessionFile(session_id(6)))
    session.prompt("Now think harder")
    session.reply(usage(0, w5m=24_000), model=OPUS)
    (miss,) = run_of(save(session, tmp_path)).misses
    assert miss.reason == "model"
    assert miss.words == f"another model ({SONNET} → {OPUS})"


def test_a_compaction_is_why_the_prefix_shrank(tmp_path):
    session = growing_session(5, SessionFile(session_id(7)))
    session.compact(pre_tokens=26_000)
    session.prompt("continue")
    session.reply(usage(18_000, w5m=3_000))  # the system prompt read, the summary written
    reading = read_session(save(session, tmp_path), PRICER)
    run = reading.run()
    (miss,) = run.misses
    assert miss.reason == "compaction" and miss.words == "the prefix shrank after a compaction"
    assert miss.tokens == 3_003  # the new prompt (21,003), shorter than before, less its read
    assert "1 compaction(s)" in reading.notes()


def test_one_hour_writes_survive_a_long_pause_and_five_minute_ones_do_not(tmp_path):
    long = growing_session(3, SessionFile(session_id(8)), ttl="1h")
    long.prompt("back after lunch", after_s=40 * 60)
    long.reply(usage(22_000, w1h=2_000))
    run = run_of(save(long, tmp_path))
    assert run.misses == []
    assert run.totals().written_1h == 18_000 + 2 * 2_000 + 2_000
    assert run.totals().written_5m == 0
    longer = growing_session(3, SessionFile(session_id(9)), ttl="1h")
    longer.prompt("back the next morning", after_s=70 * 60)
    longer.reply(usage(0, w1h=24_000))
    (miss,) = run_of(save(longer, tmp_path)).misses
    assert miss.words == "a pause of 70 min past the 1h TTL" and miss.ttl == "1h"


def test_line_types_nobody_documents_are_passed_over_and_counted(tmp_path):
    session = SessionFile(session_id(10))
    session.other("summary", summary="Shop checkout refactor", leafUuid="x")
    session.other("file-history-snapshot", messageId="m", snapshot={}, isSnapshotUpdate=False)
    session.other("queue-operation", operation="enqueue", content="later")
    session.prompt("go")
    session.other("progress", data={"type": "hook_progress"}, uuid="p1", parentUuid=None)
    session.other("a-line-type-from-2027", whatever=[1, 2, 3])
    session.reply(usage(0, w5m=4_000))
    session.other("assistant", message={"model": "<synthetic>", "usage": usage(), "id": "s"})
    path = save(session, tmp_path)
    with open(path, "a") as fh:
        fh.write("[1, 2]\nnot json at all\n\n")
    reading = read_session(path, PRICER)
    assert reading.run().totals().requests == 1
    assert reading.title == "Shop checkout refactor"
    notes = " ".join(reading.notes())
    assert "2 line(s) could not be read" in notes
    assert "a-line-type-from-2027 1" in notes and "queue-operation 1" in notes
    assert "assistant without a request 1" in notes  # Claude Code's own <synthetic> message


def test_a_truncated_last_line_is_left_until_it_is_whole(tmp_path):
    """A session still being written: the last line stops half-way; the next poll reads it."""
    session = growing_session(3, SessionFile(session_id(11)))
    path = save(session, tmp_path, cut_last_line=True)
    reading = SessionReading(path, PRICER)
    reading.poll(final=False)
    assert len(reading.calls()) == 3  # the half line was the last block of the third reply
    assert reading.transcripts[path].truncated
    before = reading.transcripts[path].offset
    assert before < path.stat().st_size
    path.write_text(session.text())  # the writer finishes the line
    growing_session(1, session, system=22_000, warm=True)  # ... and goes on
    with open(path, "a") as fh:
        fh.write("".join(json.dumps(line) + "\n" for line in session.lines[-2:]))
    assert reading.poll() is True
    assert len(reading.calls()) == 4 and not reading.transcripts[path].truncated
    assert reading.poll() is False  # nothing new: nothing read


def test_a_final_read_says_the_file_ends_mid_line(tmp_path):
    path = save(growing_session(2, SessionFile(session_id(12))), tmp_path, cut_last_line=True)
    reading = read_session(path, PRICER)
    assert any("last line is incomplete" in n for n in reading.notes())


def test_a_live_read_reads_only_the_new_lines(tmp_path, monkeypatch):
    session = growing_session(50, SessionFile(session_id(13)))
    path = save(session, tmp_path)
    reading = SessionReading(path, PRICER)
    reading.poll()
    parsed = []
    real = transcript.json.loads
    monkeypatch.setattr(transcript.json, "loads", lambda raw: parsed.append(raw) or real(raw))
    growing_session(1, session, system=116_000, warm=True)
    with open(path, "a") as fh:
        fh.write("".join(json.dumps(line) + "\n" for line in session.lines[-3:]))
    assert reading.poll()
    assert len(parsed) == 3 and len(reading.calls()) == 51


def test_a_line_too_long_to_hold_is_passed_over(tmp_path, monkeypatch):
    monkeypatch.setattr(transcript, "MAX_LINE_BYTES", 1_000)
    session = SessionFile(session_id(14))
    session.prompt("x" * 5_000)
    session.reply(usage(0, w5m=3_000))
    reading = read_session(save(session, tmp_path), PRICER)
    assert len(reading.calls()) == 1
    assert any("1 line(s) could not be read" in n for n in reading.notes())


def test_a_rewind_names_the_message_where_the_prefix_changed(tmp_path):
    session = growing_session(4, SessionFile(session_id(15)))
    # back to the end of the second reply (messages 0 to 3): the new prompt is messages.4
    session.rewind_to(5)
    session.prompt("Let's try another way")
    session.reply(usage(18_000, w5m=2_500))
    (miss,) = run_of(save(session, tmp_path)).misses
    assert miss.reason == "prefix"
    assert miss.words == "the conversation went back: the prefix changed at messages.4"


def test_costs_are_genai_prices_at_each_request_date(tmp_path):
    """Opus 4.6 charged a prompt-length tier until 13 March 2026: the same request costs twice
    as much the day before (pricing.md; genai-prices keeps the dates)."""
    for day, expected in ((12, 0.30385), (14, 0.15255)):
        session = SessionFile(session_id(16), dt.datetime(2026, 3, day, 12, tzinfo=dt.UTC))
        session.prompt("big")
        session.reply(usage(300_000, uncached=10, output=100), model=OPUS)
        (call,) = run_of(save(session, tmp_path / str(day))).calls
        at = dt.datetime.fromtimestamp(call.at, dt.UTC)
        assert call.cost_usd == pytest.approx(library_cost(OPUS, at, 10, 300_000, 0, 0, 100))
        assert call.cost_usd == pytest.approx(expected)


@pytest.mark.parametrize(
    "counts",
    [(3, 0, 20_000, 0, 300), (5, 150_000, 2_000, 1_000, 900), (1, 210_000, 0, 5_000, 20)],
)
def test_the_pricer_agrees_with_the_library_request_by_request(counts):
    """The pricer looks rates up once per hour; a request over a tier goes to the library."""
    uncached, read, w5m, w1h, output = counts
    at = dt.datetime(2026, 11, 20, 15, 30, tzinfo=dt.UTC)
    from app.caching.ledger import Usage

    for model in (SONNET, OPUS, "claude-sonnet-4-6"):
        ours = PRICER.cost(model, at.timestamp(), Usage(read, w5m, w1h, uncached, output))
        theirs = library_cost(model, at, uncached, read, w5m, w1h, output)
        assert ours == pytest.approx(theirs, rel=1e-9)


def test_hit_rate_and_reads_per_write_are_the_issues_definitions(tmp_path):
    run = run_of(save(growing_session(5, SessionFile(session_id(17))), tmp_path))
    t = run.totals()
    assert t.read == 18_000 + 20_000 + 22_000 + 24_000
    assert t.written_5m == 18_000 + 4 * 2_000
    assert t.hit_rate == pytest.approx(t.read / (t.read + t.written_5m + t.uncached))
    assert t.reads_per_write == pytest.approx(t.read / t.written_5m)


def test_mcp_servers_get_the_requests_that_carried_their_tools_results(tmp_path):
    session = SessionFile(session_id(18))
    session.prompt("Find the bug report")
    session.reply(usage(0, w5m=20_000), tools=("mcp__github__search_issues",))
    session.tool_result()
    session.reply(usage(20_000, w5m=9_000), tools=("mcp__github__get_issue", "Read"))
    session.tool_result()
    session.reply(usage(29_000, w5m=1_000), tools=("mcp__linear_app__create",))
    session.tool_result()
    session.reply(usage(30_000, w5m=500))
    run = run_of(save(session, tmp_path))
    shares = {s.server: s for s in run.per_mcp_server()}
    assert set(shares) == {"github", "linear_app"}
    assert shares["github"].tool_uses == 2 and shares["github"].carried.requests == 2
    assert shares["github"].carried.written_5m == 9_000 + 1_000
    assert shares["linear_app"].carried.requests == 1


def test_a_request_copied_into_a_resumed_sessions_file_counts_once(tmp_path):
    first = growing_session(3, SessionFile(session_id(19)))
    save(first, tmp_path)
    second = SessionFile(session_id(20), START + dt.timedelta(hours=2))
    second.lines = [dict(line, sessionId=second.session_id) for line in first.lines]
    second.parent = first.parent
    growing_session(1, second, system=22_000, warm=True)
    path = save(second, tmp_path)
    os.utime(path, (path.stat().st_atime, path.stat().st_mtime + 60))
    readings = read_project(project_folder(tmp_path), PRICER)
    assert [r.id for r in readings] == [second.session_id, first.session_id]
    assert [len(r.calls()) for r in readings] == [1, 3]
    assert any("3 request(s) already counted" in n for n in readings[0].notes())


def test_the_folders_come_from_claude_config_dir_then_the_two_defaults(tmp_path, monkeypatch):
    home = tmp_path / "home"
    for folder in (home / ".claude", home / ".config" / "claude", tmp_path / "a", tmp_path / "b"):
        (folder / "projects").mkdir(parents=True)
    (tmp_path / "no-projects").mkdir()
    monkeypatch.setenv("HOME", str(home))
    env = {"CLAUDE_CONFIG_DIR": f"{tmp_path / 'b'}, {tmp_path / 'no-projects'},{tmp_path / 'a'}"}
    assert config_dirs(env) == [
        tmp_path / "b",
        tmp_path / "a",
        home / ".config" / "claude",
        home / ".claude",
    ]
    assert config_dirs({}) == [home / ".config" / "claude", home / ".claude"]


def test_projects_and_sessions_are_listed_newest_first(tmp_path):
    old = SessionFile(session_id(21))
    old.prompt("first task")
    old.reply(usage(0, w5m=1_000))
    new = growing_session(1, SessionFile(session_id(22)))
    other = growing_session(1, SessionFile(session_id(23)))
    paths = [save(old, tmp_path), save(new, tmp_path)]
    elsewhere = other.save(project_folder(tmp_path, "/home/dev/blog") / "x.jsonl")
    for age, path in zip((3000, 1000, 2000), (*paths, elsewhere), strict=True):
        os.utime(path, (1.8e9 - age, 1.8e9 - age))
    found = projects([tmp_path])
    assert [p.name for p in found] == ["/home/dev/shop", "/home/dev/blog"]
    listed = sessions(found[0].folder)
    assert [s.id for s in listed] == [new.session_id, old.session_id]
    assert title_of(listed[1].path) == "first task"


def test_claude_codes_folder_is_only_ever_read(tmp_path):
    """Listing, reading, polling and analysing open nothing for writing under the folder, and
    leave every name, size and time as they were (an audit hook sees every open)."""
    config = tmp_path / "claude"
    session = growing_session(6, SessionFile(session_id(24)))
    path = save(session, config)
    sub = SessionFile(session.session_id, agent="z9")
    growing_session(2, sub).save(path.with_suffix("") / "subagents" / "agent-z9.jsonl")

    def snapshot():
        return sorted((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in config.rglob("*"))

    before = snapshot()
    writes = []
    watching = [True]

    def hook(event, args):
        if watching[0] and event == "open" and str(args[0]).startswith(str(config)):
            mode, flags = args[1], args[2]
            if (mode and any(c in mode for c in "wax+")) or (flags or 0) & (
                os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
            ):
                writes.append(args)

    sys.addaudithook(hook)
    try:
        for project in projects([config]):
            for found in sessions(project.folder):
                title_of(found.path)
                reading = SessionReading(found.path, PRICER)
                reading.poll()
                reading.poll(final=True)
                run = reading.run()
                run.per_day(), run.per_agent(), run.per_mcp_server(), run.rewrites()
    finally:
        watching[0] = False
    assert writes == []
    assert snapshot() == before


def test_the_rewrite_line_of_the_issue():
    """Issue 38: "rewrote 629,000 tokens after 6 min idle: $2.36; a keep-alive would have cost
    $0.19" (Sonnet 4.6: 5m write $3.75, read $0.30 per million)."""
    at = dt.datetime(2026, 11, 20, tzinfo=dt.UTC).timestamp()
    line = rewrite_line(PRICER, "claude-sonnet-4-6", at, 629_000, 629_000, 360, 380, "5m")
    assert line.text() == (
        "rewrote 629,000 tokens after 6 min idle: $2.36; a keep-alive would have cost $0.19"
    )
    assert line.keepalive_pays


def test_keepalive_pings_are_counted_as_the_engine_sends_them():
    """One ping 20 s before each expiry (EngineSettings.keepalive_margin_s)."""
    assert pings_needed(290, "5m") == 0
    assert pings_needed(301, "5m") == 1
    assert pings_needed(300 + 280, "5m") == 1
    assert pings_needed(300 + 281, "5m") == 2
    assert pings_needed(3 * 3600, "1h") == 3


def test_a_miss_after_a_pause_gets_its_rewrite_line(tmp_path):
    session = growing_session(3, SessionFile(session_id(25)), model="claude-sonnet-4-6")
    session.prompt("back", after_s=9 * 60)
    session.reply(usage(0, w5m=24_000), model="claude-sonnet-4-6")
    run = run_of(save(session, tmp_path))
    (line,) = run.rewrites()
    assert line.request == 4 and line.tokens == 22_000 and line.pings == 1
    assert line.text().startswith("rewrote 22,000 tokens after 9 min idle: $0.083;")


def test_the_reader_the_view_model_and_the_gate_import_without_qt():
    code = (
        "import sys, app.agents.browser, app.agents.gate, app.check.cli, app.replay.billed;"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'qasync', 'shiboken6')];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_file_that_got_shorter_is_read_again_from_the_start(tmp_path):
    """A session file replaced by a shorter one (rewritten, not appended to) is read anew:
    nothing of the old content stays counted."""
    long = growing_session(5, SessionFile(session_id(26)))
    path = save(long, tmp_path)
    reading = SessionReading(path, PRICER)
    reading.poll()
    assert len(reading.calls()) == 5
    short = growing_session(2, SessionFile(session_id(26)))
    path.write_text(short.text())
    assert reading.poll() is True
    assert [c.key for c in reading.calls()] == [c.key for c in run_of(path).calls]
    assert len(reading.calls()) == 2


def test_a_fast_mode_request_is_priced_at_fast_prices(tmp_path):
    """A /fast session's usage says "speed": "fast" (fast-mode.md, "Checking which speed was
    used"); it was priced at standard rates, half its bill on Opus 5."""
    session = SessionFile(session_id(40))
    session.prompt("Quick, fix it")
    counts = usage(0, w5m=20_000, output=800)
    session.reply({**counts, "speed": "fast"}, model="claude-opus-5")
    session.prompt("And the next")
    session.reply(counts, model="claude-opus-5")
    fast, standard = run_of(save(session, tmp_path)).calls
    assert fast.cost_usd == pytest.approx(2 * standard.cost_usd, rel=1e-6)
    at = dt.datetime.fromtimestamp(fast.at, dt.UTC)
    assert standard.cost_usd == pytest.approx(
        library_cost("claude-opus-5", at, 3, 0, 20_000, 0, 800), rel=1e-6
    )
