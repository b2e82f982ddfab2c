"""What would it have cost compares like with like (issue 35, point 7), without Qt: the replay
and what was paid cover the same requests (every branch, the keep-alive pings after the last
reply, never a draft that was not sent), a policy whose replay lost a send is never named as the
cheaper one, and Cachescope's row is the app's engine driven through the window's controller
(``Chat``: an edit warms the prefix it keeps)."""

import json

import pytest

from app.caching.costs import Kind
from app.conversation.documents import document_from_text
from app.engine.session import Session
from app.engine.settings import from_preferences
from app.history.sessions import export_session, records_of
from app.replay.cli import main
from app.replay.report import run_all
from app.replay.runner import replay
from app.replay.trace import Event, Trace, TraceError, parse
from app.storage.preferences import Preferences
from app.workspace.chat import Chat
from tests.helpers import HAIKU_45 as HAIKU
from tests.helpers import Harness, conversation, run, text_of


def a_new_install(pings: bool = False):
    """A new install's settings; keep-alive pings off unless asked for (the harness's engine
    sleeps on the simulator's clock, so a ping would move the clock under the test's feet)."""
    settings = from_preferences(Preferences())
    if not pings:
        settings.keepalive_pings = 0
    return settings


async def two_branches(h, tmp_path):
    """Three questions; the third is edited and sent again, then answered again: three paths."""
    chat = Chat(h.engine, Session(conversation(tokens=4000)))
    for text in ("What is in the contract?", "And the parties?", "And the term?"):
        await chat.send(text)
        await h.sleep(60)
    chat.edit(4)  # the third question
    await chat.send("And the notice period?")
    await h.sleep(40)
    await chat.regenerate()
    path = tmp_path / "branches.json"
    await export_session(chat.session, "json", path)
    return chat, path


def test_a_conversation_with_branches_replays_every_branch_and_compares_with_all_it_paid(
    sim, tmp_path, capsys
):
    """prompt-caching.md's rules, replayed: before, the trace held the branch on screen only
    while what was paid counted every branch's turns (4 turn records for 3 messages), so the
    replay said "tool rounds" and compared nothing. Now all three paths replay in the order they
    were made (an edit is a ``send`` after an earlier reply, a second answer a ``regenerate``)
    and each send is matched with the record of its own turn."""

    async def scenario():
        h = Harness(sim.base_url, a_new_install())
        chat, path = await two_branches(h, tmp_path)
        await h.engine.shutdown()
        await h.client.close()
        return chat, path

    chat, path = run(scenario())
    turns = [r for r in chat.session.totals.records if r.kind == Kind.TURN]
    assert len(turns) == 5 and len(chat.conversation.branches) == 2
    assert main([str(path), "--json", "--policies", "none,cachescope"]) == 0
    out = json.loads(capsys.readouterr().out)
    calibration = out["calibration"]
    assert calibration["requests"] == 5 and calibration["reproduced"] == 5, calibration
    paid = sum(r.cost.paid_usd for r in chat.session.totals.records)
    assert out["actual_paid_usd"] == pytest.approx(paid, abs=1e-6)
    assert any("all 3 branches replayed in the order they were made" in n for n in out["notes"])
    (entry,) = out["traces"].values()
    assert all(len(p["ttft_s"]) == 5 for p in entry["policies"].values())


def test_the_replay_lasts_as_long_as_the_history_so_pings_count_on_both_sides(
    sim, tmp_path, capsys
):
    """Keep-alive pings after the last reply are paid; the replay stopped 30 s after the last
    reply, so Cachescope's row left its own pings out and looked cheaper than what was paid by
    their cost. Now the replay runs until the history's last request."""

    async def scenario():
        h = Harness(sim.base_url, a_new_install())
        chat = Chat(h.engine, Session(conversation(tokens=30_000)))
        await chat.send("What is in the contract?")
        await h.sleep(30)
        h.engine.settings.keepalive_pings = 12  # from the last reply on, as a new install
        await chat.send("And the parties?")
        await chat.session.keepalive_task  # the pings after the last reply, until it stops
        path = tmp_path / "pings.json"
        await export_session(chat.session, "json", path)
        await h.engine.shutdown()
        await h.client.close()
        return chat, path

    chat, path = run(scenario())
    pings = [r for r in chat.session.totals.records if r.kind == Kind.KEEPALIVE]
    assert pings  # the history paid for pings after the last reply
    assert main([str(path), "--json", "--policies", "cachescope"]) == 0
    out = json.loads(capsys.readouterr().out)
    row = out["summary"]["cachescope"]
    (entry,) = out["traces"].values()
    assert entry["policies"]["cachescope"]["warmups_and_pings"] >= len(pings)
    assert row["cost_usd"] == pytest.approx(out["actual_paid_usd"], rel=0.02)


def test_a_warm_up_for_a_draft_never_sent_is_not_counted_as_paid(sim):
    """A document attached after the last reply was warmed and never sent: the replay has no
    such draft, so counting its warm-up as paid made every policy look cheaper by it."""

    async def scenario():
        h = Harness(sim.base_url, a_new_install())
        chat = Chat(h.engine, Session(conversation(tokens=3000)))
        await chat.send("What is in the contract?")
        await h.sleep(20)
        paper = document_from_text(text_of(20_000, "annex"), "annex.txt")
        warm = await chat.set_draft("", (paper,), now=True)
        await h.engine.shutdown()
        await h.client.close()
        return chat, warm

    chat, warm = run(scenario())
    from app.replay.billed import conversation_segment

    assert warm is not None and warm.kind == Kind.WARM
    segment, notes = conversation_segment(chat.conversation, records_of(chat.session))
    turn = next(r for r in chat.session.totals.records if r.kind == Kind.TURN)
    assert segment.paid_usd == pytest.approx(turn.cost.paid_usd)
    assert any("1 warm-up(s) for a draft never sent" in n for n in notes)


def test_a_policy_whose_replay_lost_a_send_is_never_named_the_cheaper(monkeypatch):
    """A replay that got no reply for a send paid for one request less: its row is kept with its
    note, but no sentence says it would have saved money."""
    from app.replay import policies

    class LosesTheSecond(policies.Automatic):
        sends = 0

        async def send(self, text):
            LosesTheSecond.sends += 1
            if LosesTheSecond.sends == 2:
                self.failures.append("the stream broke")
                return None
            return await super().send(text)

    monkeypatch.setitem(policies.POLICIES, "automatic", LosesTheSecond)
    trace = parse(
        {
            "name": "lossy",
            "model": "claude-sonnet-4-6",
            "system_tokens": 3000,
            "events": [
                {"wait": 0, "do": "send", "tokens": 20, "reply_tokens": 100},
                {"wait": 30, "do": "send", "tokens": 20, "reply_tokens": 100},
                {"wait": 30, "do": "send", "tokens": 20, "reply_tokens": 100},
                {"wait": 10, "do": "close"},
            ],
        }
    )
    report = run_all(trace, ["none", "automatic"])
    lossy = next(r for r in report.rows if r.policy == "automatic")
    assert lossy.cost_usd < next(r for r in report.rows if r.policy == "none").cost_usd
    report.actual_usd = 1.0  # whatever was paid, the lossy row is not the one to name
    assert "Automatic" not in report.sentence([])
    assert report.sentence([]).startswith("No caching would have saved")


def test_cachescopes_replay_goes_through_the_controller_and_warms_the_prefix_an_edit_keeps():
    """The window's ``Chat.edit`` warms what the edit keeps (the system prompt, the first
    question and its 3,000-token reply) while the new question is typed; the replay drove the
    engine around the controller and warmed the whole conversation instead, so the edited send
    read only up to the first question and processed the reply again."""
    trace = parse(
        {
            "name": "edit",
            "model": "claude-sonnet-4-6",
            "system_tokens": 20_000,
            "events": [
                {"wait": 0, "do": "type", "seconds": 5},
                {"wait": 0, "do": "send", "tokens": 30, "reply_tokens": 3000},
                {"wait": 20, "do": "send", "tokens": 30, "reply_tokens": 200},
                {"wait": 20, "do": "type", "seconds": 15},
                {"wait": 0, "do": "edit_last", "tokens": 40, "reply_tokens": 200},
                {"wait": 10, "do": "close"},
            ],
        }
    )
    result = replay(trace, "cachescope")
    assert not result.failures
    second, edited = result.sent_usage[1], result.sent_usage[2]
    assert edited.read >= second.read + 2_900  # the kept reply came from the cache
    assert edited.write + edited.uncached < 200


def test_a_trace_says_which_reply_each_send_follows_and_refuses_what_names_no_earlier_send():
    base = {"name": "t", "model": "claude-sonnet-4-6"}
    events = [
        {"wait": 0, "do": "send", "tokens": 10, "reply_tokens": 10},
        {"wait": 0, "do": "send", "tokens": 10, "reply_tokens": 10, "after": 0},
        {"wait": 0, "do": "regenerate", "of": 2, "reply_tokens": 10},
    ]
    assert parse({**base, "events": events}).sends == 3
    for bad, said in (
        ({"wait": 0, "do": "send", "tokens": 1, "reply_tokens": 1, "after": 1}, "after must"),
        ({"wait": 0, "do": "regenerate", "of": 0, "reply_tokens": 1}, "of must"),
        ({"wait": 0, "do": "type", "seconds": 1, "after": 0}, "'after' belongs to a send"),
    ):
        with pytest.raises(TraceError, match=said):
            parse({**base, "events": [bad]})


def test_every_policy_replays_the_branches_of_a_trace():
    """A send ``after`` an earlier reply goes back there (an edit for the window's controller),
    a ``regenerate`` answers an earlier message again: every policy sends those conversations,
    and Cachescope's controller keeps the other paths as branches, as the window does."""
    trace = parse(
        {
            "name": "branches",
            "model": "claude-sonnet-4-6",
            "system_tokens": 5000,
            "events": [
                {"wait": 0, "do": "send", "tokens": 20, "reply_tokens": 300},
                {"wait": 30, "do": "send", "tokens": 20, "reply_tokens": 300},
                {"wait": 30, "do": "type", "seconds": 4},
                {"wait": 0, "do": "send", "tokens": 25, "reply_tokens": 300, "after": 1},
                {"wait": 20, "do": "regenerate", "of": 3, "reply_tokens": 300},
                {"wait": 20, "do": "send", "tokens": 20, "reply_tokens": 300, "after": 2},
                {"wait": 10, "do": "close"},
            ],
        }
    )
    for policy in ("automatic", "cachescope"):
        result = replay(trace, policy)
        assert not result.failures and len(result.ttft_s) == 5, (policy, result.failures)
        reads = [u.read for u in result.sent_usage]
        # the branch after send 1 reads the system prompt and the first question; the last send
        # goes back to the second path, whose prefix is cached
        assert reads[2] >= 5000 and reads[4] > reads[2], (policy, reads)


def test_cachescopes_replay_decides_once_per_typing_pause():
    """Through the controller: 40 s of typing is one warm-up decision (at the first key, the
    conversation having changed), not one a second as when the replay called the engine."""
    from app.replay.ours import Cachescope

    seen = {}

    class Counting(Cachescope):
        async def close(self):
            seen["decisions"] = self.chat.decisions
            await super().close()

    typing = parse(
        {
            "name": "typing",
            "model": "claude-sonnet-4-6",
            "system_tokens": 3000,
            "events": [
                {"wait": 0, "do": "send", "tokens": 20, "reply_tokens": 100},
                {"wait": 30, "do": "type", "seconds": 40},
                {"wait": 0, "do": "send", "tokens": 200, "reply_tokens": 100},
                {"wait": 5, "do": "close"},
            ],
        }
    )
    assert not replay(typing, "cachescope", actor=Counting).failures
    assert seen["decisions"] == 1


def test_cachescopes_replay_is_refused_what_the_api_would_before_anything_is_sent():
    """A message over Haiku 4.5's context window: the window's controller refuses it (its
    sentence says how large the request is); the replay used to send it and meet the API's 400.
    ``parse`` refuses such a file before any replay (docs/replay.md's bounds), so the trace is
    made here as a saved conversation could only make it by growing past the window."""
    events = (
        Event(0, "send", {"tokens": 20, "reply_tokens": 100}),
        Event(10, "attach", {"document_tokens": 210_000}),
        Event(0, "send", {"tokens": 20, "reply_tokens": 100}),
        Event(5, "close", {}),
    )
    with pytest.raises(TraceError, match="document_tokens must be a number <= 200,000"):
        parse({"name": "too-long", "model": HAIKU, "system_tokens": 5000, "events": [
            {"wait": e.wait, "do": e.do, **e.fields} for e in events
        ]})  # fmt: skip
    too_long = Trace("too-long", HAIKU, 5000, 0, events)
    result = replay(too_long, "cachescope")
    assert any("refused: With this message the request is about" in f for f in result.failures)
    assert len(result.sent_usage) == 1 and result.requests <= 2  # the first send (and a warm-up)
