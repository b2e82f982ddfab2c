"""A calibrated replay (issue 38, part 2): ``cachescope-replay`` and What would it have cost take
a Claude Code session, a captured run or an export, begin with how well the replay reproduces
what was billed, and compare policies only where that holds."""

import json

import pytest

from app.inspect.observer import Line
from app.replay.calibration import TOLERANCE
from app.replay.cli import main
from tests.claude_code_sessions import (
    SessionFile,
    growing_session,
    project_folder,
    session_id,
    usage,
)

SONNET_46 = "claude-sonnet-4-6"
POLICIES = "none,claude_code,cachescope"


def save(session, config):
    return session.save(project_folder(config) / f"{session.session_id}.jsonl")


def replayed(path, capsys, *extra):
    assert main([str(path), "--json", "--policies", POLICIES, *extra]) == 0
    return json.loads(capsys.readouterr().out)


def test_a_claude_code_session_is_reproduced_and_its_own_layout_costs_what_was_billed(
    tmp_path, capsys
):
    """The replay under Claude Code's layout (a breakpoint on the system prompt, one moving
    marker) reads what the log says was read, request by request, and its bill is the log's."""
    session = growing_session(12, SessionFile(session_id(1)), model=SONNET_46, pause_s=40)
    session.prompt("after a coffee", after_s=8 * 60)  # past the 5m TTL: read nothing again
    session.reply(usage(0, w5m=18_000 + 12 * 2_000), model=SONNET_46)
    out = replayed(save(session, tmp_path), capsys)
    assert out["calibration"] == {
        "reproduced": 13,
        "requests": 13,
        "tolerance": TOLERANCE,
        "holds": True,
        "layout": "Claude Code's layout",
        "segments": 1,
        "segments_held": 1,
        "requests_compared": 13,
        "not_comparable": 0,
        "unreplayable": 0,
        "not_reproduced": [],
    }
    assert out["sentence"].startswith(
        "The replay (Claude Code's layout) reproduces the cache reads of 13 of 13 requests"
        " within 2 %; policies are compared over the whole session."
    )
    own = out["summary"]["claude_code"]["cost_usd"]
    assert own == pytest.approx(out["actual_paid_usd"], rel=0.005)
    assert set(out["summary"]) == set(POLICIES.split(","))


def test_a_compaction_and_a_model_switch_cut_the_session_into_parts(tmp_path, capsys):
    session = growing_session(6, SessionFile(session_id(2)), model=SONNET_46)
    session.compact()
    session.prompt("continue")
    session.reply(usage(18_000, w5m=3_000), model=SONNET_46)  # read the system prompt
    growing_session(4, session, system=21_003, model="claude-opus-4-6")
    out = replayed(save(session, tmp_path), capsys)
    cal = out["calibration"]
    assert cal["segments"] == 3
    # the part after the compaction began by reading what the first part cached: not counted
    assert cal["not_comparable"] == 1
    assert cal["requests"] == 10 and cal["reproduced"] == 10
    assert (
        "1 request(s) that began a part by reading what an earlier part cached" in (out["sentence"])
    )


def test_policies_are_not_compared_where_the_replay_does_not_reproduce_the_bill(tmp_path, capsys):
    """Reads the replay cannot explain (an eviction every request) mean the replay is not the
    session: the sentence says so and no policy is priced."""
    session = SessionFile(session_id(3))
    prompt = 20_000
    for _ in range(8):
        session.prompt("again", after_s=30)
        session.reply(usage(0, w5m=prompt), model=SONNET_46)
        prompt += 1_500
    out = replayed(save(session, tmp_path), capsys)
    assert out["calibration"]["holds"] is False
    assert out["calibration"]["reproduced"] == 1 and out["calibration"]["requests"] == 8
    assert out["traces"] == {} and out["summary"] == {}
    assert out["sentence"].startswith(
        "The replay (Claude Code's layout) reproduces the cache reads of 1 of 8 requests within"
        " 2 %: too few to trust, so the policies are not compared. (not reproduced: request 2"
        " read 0 where the replay read 20,004; request 3 read 0 where the replay read 21,505;"
        " request 4 read 0 where the replay read 23,006; 4 more (a cache emptied between"
    )  # which requests, so a user can tell what the replay could not know (a new user's finding)
    assert (
        out["calibration"]["not_reproduced"][0] == "request 2 read 0 where the replay read 20,004"
    )


def test_only_the_parts_that_hold_are_compared_and_the_sentence_says_so(tmp_path, capsys):
    good = growing_session(6, SessionFile(session_id(4)), model=SONNET_46)
    good.prompt("switch")
    good.reply(usage(0, w5m=30_000), model="claude-opus-4-6")
    for i in range(5):  # evicted every time: this part does not hold
        good.prompt("again", after_s=30)
        good.reply(usage(0, w5m=31_000 + 1_000 * i), model="claude-opus-4-6")
    out = replayed(save(good, tmp_path), capsys)
    assert out["calibration"]["segments_held"] == 1 and out["calibration"]["segments"] == 2
    assert (
        "policies are compared over the 1 of 2 parts where it holds (6 requests)"
        in (out["sentence"])
    )
    (name,) = out["traces"]
    assert "part 1" in name


def test_a_captured_run_is_calibrated_and_the_tolerance_is_the_users(tmp_path, capsys):
    """The inspector's captured lines (app.inspect.observer.Line, read as written; they carry
    no output counts) replay within 0.1 % of their reads: reproduced at the default 2 %, not
    at --tolerance 0.0005."""
    path = tmp_path / "captured" / "2026-12-01-101500.jsonl"
    path.parent.mkdir()
    lines, prompt, at = [], 6_000, 1.8e9
    for i in range(6):
        read = 0 if i == 0 else prompt - 700
        written = prompt if i == 0 else 700
        lines.append(
            Line(f"r{i + 1}", at, SONNET_46, "turn", read, written, 0, 5, read, "", "", 0.01, "s1")
        )
        prompt += 700
        at += 20
    path.write_text("".join(json.dumps(line.as_dict()) + "\n" for line in lines))
    out = replayed(path, capsys)
    assert out["calibration"]["reproduced"] == 6 and out["calibration"]["holds"]
    assert any("a captured run records no output counts" in n for n in out["notes"])
    strict = replayed(path, capsys, "--tolerance", "0.0005")
    assert strict["calibration"]["reproduced"] == 1 and strict["calibration"]["tolerance"] == 0.0005
    assert strict["summary"] == {}


def test_the_text_output_begins_with_the_calibration(tmp_path, capsys):
    session = growing_session(3, SessionFile(session_id(5)), model=SONNET_46)
    assert main([str(save(session, tmp_path)), "--policies", "none"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("The replay (Claude Code's layout) reproduces the cache reads")
    assert any(line.startswith("No caching") for line in printed)


def test_a_bad_claude_code_file_is_one_line_and_exit_2(tmp_path, capsys):
    session = SessionFile(session_id(6))
    session.other("summary", summary="nothing happened")
    path = save(session, tmp_path)
    assert main([str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no request in it" in err


def test_an_export_begins_with_how_well_the_apps_engine_reproduces_its_history(
    sim, tmp_path, capsys
):
    from app.engine.session import Session
    from app.history.sessions import export_session
    from app.workspace.chat import Chat
    from tests.test_engine import Harness, conversation, run

    async def scenario():
        h = Harness(sim.base_url)
        chat = Chat(h.engine, Session(conversation(tokens=4000)))
        for text in ("What is in the contract?", "And the parties?", "Thanks, and the term?"):
            await chat.send(text)
            await h.sleep(90)
        path = tmp_path / "session.json"
        await export_session(chat.session, "json", path)
        await h.client.close()
        return path

    out = replayed(run(scenario()), capsys)
    assert out["calibration"]["reproduced"] == 3 and out["calibration"]["requests"] == 3
    assert out["calibration"]["layout"] == "Cachescope, your settings"
    (entry,) = out["traces"].values()
    assert entry["sentence"] and entry["actual_paid_usd"] is not None


def test_the_window_begins_what_would_it_have_cost_with_the_calibration(qtbot, loop, sim):
    """Conversation → What would it have cost: the open conversation replayed the way this
    window sends it (its own settings: here no warm-ups) reproduces what it billed first."""
    from tests.uikit import make_window, turn_over, until

    window, client = make_window(sim.base_url, system_tokens=3000)
    qtbot.addWidget(window)

    async def scenario():
        for text in ("What is in chapter one?", "And chapter two?", "And three?"):
            window.composer.edit.setPlainText(text)
            window.sending.send()
            await until(lambda: turn_over(window))
        dialog = window.replay.open()
        await until(lambda: dialog.task.done(), timeout=120)
        await client.close()
        return dialog

    dialog = loop.run_until_complete(scenario())
    assert dialog.sentence.text().startswith(
        "The replay (Cachescope, your settings) reproduces the cache reads of 3 of 3 requests"
        " within 2 %; policies are compared over the whole session."
    )
    assert dialog.table.rowCount() == 9


def test_a_session_on_a_retired_or_unknown_model_says_it_cannot_be_replayed(tmp_path, capsys):
    """Sonnet 4.5 retired on 30 Nov 2026: today's simulator refuses it (404), so an older
    session is not replayed, and the output says why instead of failing."""
    for n, model, why in (
        (7, "claude-sonnet-4-5-20250929", "was retired on 2026-11-30"),
        (8, "claude-opus-9-9", "claude-opus-9-9 is not a model the simulator knows"),
    ):
        session = growing_session(3, SessionFile(session_id(n)), model=model)
        path = save(session, tmp_path)
        assert main([str(path), "--policies", "none"]) == 0
        printed = capsys.readouterr().out
        assert printed.startswith(
            "None of its 3 requests could be replayed (the notes say why), so the policies are"
            " not compared."
        )
        assert why in printed
