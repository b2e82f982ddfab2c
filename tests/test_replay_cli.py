"""``cachescope-replay`` (issue 29): a trace prints what tests/perf/sessions.py prints; a
conversation exported from a real session prints every policy and what the history says was
paid; bad input gets a message, never a crash."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

from app.caching.costs import Kind
from app.engine.session import Session
from app.history.sessions import export_session, records_of
from app.replay.cli import main
from app.workspace.chat import Chat
from tests.helpers import Harness, conversation, run

ROOT = Path(__file__).resolve().parents[1]
TRACE = ROOT / "tests" / "perf" / "traces" / "short-chat.json"
POLICIES = "none,automatic,cachescope"


def test_a_trace_replays_to_the_same_figures_as_the_benchmark(tmp_path, capsys):
    folder = tmp_path / "traces"
    folder.mkdir()
    shutil.copy(TRACE, folder)
    bench = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tests/perf/sessions.py"),
            "--traces",
            str(folder),
            "--json",
            "--policies",
            POLICIES,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert main([str(TRACE), "--json", "--policies", POLICIES]) == 0
    ours = json.loads(capsys.readouterr().out)
    theirs = json.loads(bench.stdout)
    assert ours["summary"] == theirs["summary"]
    for name, entry in theirs["traces"].items():
        assert ours["traces"][name]["policies"] == entry["policies"]
        assert ours["traces"][name]["optimum_cost_usd"] == entry["optimum_cost_usd"]


def test_an_export_of_a_real_session_prints_the_policies_and_what_was_paid(sim, tmp_path, capsys):
    async def scenario():
        h = Harness(sim.base_url)
        chat = Chat(h.engine, Session(conversation(tokens=4000)))
        for text in ("What is in the contract?", "And the parties?", "Thanks, and the term?"):
            await chat.send(text)
            await h.sleep(90)  # the user reads, then writes again
        path = tmp_path / "session.json"
        await export_session(chat.session, "json", path)
        await h.client.close()
        return chat, path

    chat, path = run(scenario())
    paid = sum(r.cost.paid_usd for r in chat.session.totals.records)
    assert any(r.kind == Kind.TURN for r in chat.session.totals.records)
    assert main([str(path), "--json", "--policies", POLICIES]) == 0
    (entry,) = json.loads(capsys.readouterr().out)["traces"].values()
    assert entry["actual_paid_usd"] == round(paid, 6)
    assert set(entry["policies"]) == set(POLICIES.split(","))
    assert all(len(p["ttft_s"]) == 3 for p in entry["policies"].values())
    assert any("typing assumed" in n for n in entry["notes"]) and entry["sentence"]
    assert len(records_of(chat.session)) == len(chat.session.totals.records)


def test_bad_input_is_a_message_not_a_crash(tmp_path, capsys):
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"format": "cachescope-conversation", "version": 0}))
    for path in (broken, old, tmp_path / "missing.json"):
        assert main([str(path)]) == 2
        said = capsys.readouterr().err
        assert said.startswith("cachescope-replay: ") and "Traceback" not in said


def test_a_model_the_replay_cannot_price_gets_a_note_in_its_row():
    """Issue 29: a model priced by prompt-length tiers (Haiku 5.5) cannot be priced from a
    summed bill: each policy's row says so instead of a figure, and nothing crashes."""
    from app.replay.report import run_all
    from app.replay.trace import parse

    trace = parse(
        {
            "name": "tiered",
            "model": "claude-haiku-5-5",
            "system_tokens": 2000,
            "events": [{"wait": 0, "do": "send", "tokens": 20, "reply_tokens": 50}],
        }
    )
    report = run_all(trace, ["none", "cachescope"])
    assert [r.cost_usd for r in report.rows] == [None, None]
    assert all("tier" in r.note for r in report.rows)
    assert report.sentence([]) == "No policy could be priced for this conversation."
