""" "Use ..." in What would it have cost applies the whole policy it priced (issue 35, point 7):
its pattern, its TTL, whether it warms while the user types and how many keep-alive pings may
follow a reply, for this conversation only; a replay with those set is the row that was priced.
A policy Cachescope cannot follow (Claude Code's layout, the cookbook, aider) is named with why,
and where Cachescope's own row cost more or waited longer than another, the dialog says why."""

import json
from pathlib import Path

import pytest

from app.caching.costs import Kind
from app.conversation.conversation import Conversation
from app.conversation.documents import document_from_text
from app.engine import events as ev
from app.engine.engine import EngineSettings
from app.engine.session import Session
from app.engine.settings import from_preferences
from app.engine.settings_model import SettingsModel
from app.replay.report import Report, Row, run_all
from app.replay.runner import replay
from app.replay.trace import load, parse
from app.storage.preferences import Preferences
from app.workspace.chat import Chat
from tests.helpers import Harness, conversation, run, text_of

TRACES = Path(__file__).parent / "perf" / "traces"
WALK_AWAY = next(t for t in load(TRACES) if t.name == "walk-away")
# A new install's policy: (the replay's imports are inside the tests, so that each of them runs,
# and fails on what it checks, against the code before "Use ..." followed whole policies)
YOURS = {"pattern": "smart", "ttl": "adaptive", "warming": True, "keepalive_pings": 12}


@pytest.mark.parametrize("policy", ["none", "automatic", "last_user_message"])
def test_following_another_programs_policy_costs_what_its_row_priced(policy):
    """walk-away (a 70-minute absence): the row "Automatic" sends no warm-up and no ping; the
    old button set only the pattern, so the engine went on warming and pinging under it (and
    writing for an hour) and cost something else than what was shown."""
    from app.replay.following import following
    from app.replay.ours import Cachescope, in_force

    assert in_force(from_preferences(Preferences())) == YOURS
    follow = following(policy, YOURS)
    assert follow.changes == {
        "pattern": policy,
        "ttl": "5m",
        "warming": False,
        "keepalive_pings": 0,
    }

    class Followed(Cachescope):
        changes = follow.changes

    class PatternOnly(Cachescope):  # what the button used to apply
        changes = {"pattern": policy}

    priced = replay(WALK_AWAY, policy)
    followed = replay(WALK_AWAY, "followed", actor=Followed)
    assert followed.cost_usd == pytest.approx(priced.cost_usd, rel=1e-6)
    assert followed.requests == priced.requests
    if policy != "none":
        assert replay(WALK_AWAY, "pattern only", actor=PatternOnly).cost_usd != pytest.approx(
            priced.cost_usd, rel=1e-3
        )


def test_cachescopes_rows_follow_with_their_ttl_and_your_other_settings():
    from app.replay.following import CANNOT, following

    assert following("cachescope", YOURS).changes == {}
    assert following("cachescope_5m", YOURS).changes == {**YOURS, "ttl": "5m"}
    for policy in CANNOT:
        assert not following(policy, YOURS).followable


def test_a_conversations_own_warming_and_pings_outrank_the_users(sim):
    """Followed as "no warm-ups, no keep-alive pings": the conversation keeps that while the
    user's settings (here: warm, 12 pings) go on for every other conversation, and it is saved
    with the conversation."""

    async def scenario():
        h = Harness(sim.base_url, EngineSettings(warming=True, keepalive_pings=12))
        conv = conversation(tokens=3000)
        conv.warming, conv.keepalive_pings = False, 0
        chat = Chat(h.engine, Session(conv))
        paper = document_from_text(text_of(20_000, "paper"), "paper.txt")
        warm = await chat.set_draft("", (paper,), now=True)
        await chat.send("What does it say?", (paper,))
        pinging = chat.session.keepalive_task
        await h.engine.shutdown()
        await h.client.close()
        return h, chat, warm, pinging

    h, chat, warm, pinging = run(scenario())
    assert warm is None and pinging is None
    assert any(e.reason == "warming is off" for e in h.of(ev.WarmSkipped))
    assert not [r for r in chat.session.totals.records if r.kind != Kind.TURN]
    again = Conversation.from_dict(json.loads(json.dumps(chat.conversation.to_dict())))
    assert (again.warming, again.keepalive_pings) == (False, 0)


def test_the_toolbar_shows_and_changes_the_conversations_own_warming_and_pings():
    model = SettingsModel(EngineSettings(warming=True, keepalive_pings=12), Preferences())
    own = Conversation(model="claude-sonnet-4-6", warming=False, keepalive_pings=0)
    model.open(own)
    assert (model.warming, model.pings) == (False, 0)
    model.set_pings(3)
    assert own.keepalive_pings == 3 and model.prefs.keepalive_pings == 12
    model.open(Conversation(model="claude-sonnet-4-6"))  # another one follows the user's
    assert (model.warming, model.pings) == (True, 12)


def test_what_a_second_less_waiting_is_worth_is_a_preference_the_engine_follows(tmp_path, sim):
    """The value of waiting decided every follow-up warm-up and nobody could change it."""
    prefs = Preferences(wait_usd_per_s=0.5)
    prefs.save(tmp_path)
    assert Preferences.load(tmp_path).wait_usd_per_s == 0.5
    (tmp_path / "preferences.json").write_text(json.dumps({"wait_usd_per_s": -1}))
    assert Preferences.load(tmp_path).wait_usd_per_s == Preferences().wait_usd_per_s
    settings = from_preferences(prefs)
    assert settings.wait_usd_per_s == 0.5
    model = SettingsModel(from_preferences(Preferences()), Preferences())
    model.set_preferences(prefs)
    assert model.engine.wait_usd_per_s == 0.5

    async def follow_up(value):
        h = Harness(sim.base_url, EngineSettings(wait_usd_per_s=value, keepalive_pings=0))
        chat = Chat(h.engine, Session(conversation(tokens=30_000)))
        await chat.send("What is in it?")
        warm = await chat.set_draft("And", now=True)
        await h.engine.shutdown()
        await h.client.close()
        return warm

    assert run(follow_up(0.02)) is None  # re-reading 30,000 tokens is not worth 0.05 s
    assert run(follow_up(1.0)) is not None  # at $1 a second it is


def row(policy, cost, p50, label=None, spending=None, ttft=()):
    return Row(policy, label or policy, cost, p50, p50, 0, ttft or (p50,), "", spending)


def test_the_dialog_names_the_cheapest_it_cannot_follow_and_why_and_offers_the_next(qtbot):
    """aider's way cost least: the button used to offer the cheapest of the rest without a
    word; now the dialog says aider's cannot be followed, why, and what "Use ..." sets."""
    from app.ui.widgets.replay_dialog import ReplayDialog

    dialog = ReplayDialog("t")
    qtbot.addWidget(dialog)
    dialog.yours = YOURS
    report = Report(
        "t",
        [
            row("aider_keepalive", 0.010, 0.9, "aider with keep-alive pings"),
            row("automatic", 0.012, 0.8, "Automatic (top-level cache_control)"),
            row("cachescope", 0.013, 0.7, "Cachescope, your settings"),
        ],
        0.009,
    )
    dialog.show_report(report, "", [])
    advice = dialog.advice.text()
    assert (
        "aider with keep-alive pings would have cost least ($0.0100), but Cachescope cannot"
        " follow it: aider never caches the chat itself" in advice
    )
    assert dialog.best == "automatic"
    assert dialog.apply_button.text() == (
        "Use “Automatic (top-level cache_control)” for this conversation"
    )
    assert (
        "Using it sets, for this conversation only: pattern Automatic (API), TTL 5m, no"
        " warm-ups, no keep-alive pings." in advice
    )


def test_the_dialog_says_why_cachescope_cost_more_and_waited_longer(qtbot):
    """A 20,000-token document, then four follow-ups: automatic caching is cheaper (no warm-up)
    and the cookbook faster (it re-reads everything before each message). The dialog says what
    Cachescope's warm-ups added and bought, and why it did not warm the follow-ups."""
    from app.ui.widgets.replay_dialog import ReplayDialog

    events = [
        {"wait": 0, "do": "attach", "document_tokens": 20_000},
        {"wait": 2, "do": "type", "seconds": 10},
        {"wait": 0, "do": "send", "tokens": 30, "reply_tokens": 500},
    ]
    for _ in range(4):
        events += [
            {"wait": 40, "do": "type", "seconds": 10},
            {"wait": 0, "do": "send", "tokens": 30, "reply_tokens": 500},
        ]
    trace = parse(
        {"name": "doc", "model": "claude-sonnet-4-6", "events": [*events, {"do": "close"}]}
    )
    report = run_all(trace, ["automatic", "cookbook", "cachescope"])
    dialog = ReplayDialog("doc")
    qtbot.addWidget(dialog)
    dialog.yours = YOURS
    dialog.show_report(report, "", [40.0] * 4)
    advice = dialog.advice.text()
    assert "Cachescope, your settings cost $" in advice and "more than Automatic" in advice
    assert "its 1 warm-up(s) added $" in advice and "They bought waiting" in advice
    assert "turn off Warm while typing" in advice
    assert "waited longer than Cookbook: warm while typing" in advice
    assert "at $0.02 a second of waiting" in advice
    assert "raise what a second less waiting is worth (Preferences)" in advice


def test_use_in_the_window_applies_the_whole_policy_and_warming_stops_there(qtbot, loop, sim):
    """The window, driven offscreen: warming on and 12 pings for every conversation, this one
    writing for an hour, where automatic caching would have cost less for the same waits; "Use"
    sets its pattern, TTL, warming and pings on this conversation, the toolbar shows them, the
    status line says what was applied, and a document attached next is not warmed."""
    from tests.uikit import make_window, turn_over, until

    window, client = make_window(sim.base_url, system_tokens=3000, warming=True)
    qtbot.addWidget(window)
    window.workspace.engine.settings.keepalive_pings = 12
    window.session.conversation.ttl = "1h"

    async def scenario():
        for text in ("What is in chapter one?", "And chapter two?"):
            window.composer.edit.setPlainText(text)
            window.sending.send()
            await until(lambda: turn_over(window))
        dialog = window.replay.open()
        await until(lambda: dialog.task.done(), timeout=120)
        return dialog

    dialog = loop.run_until_complete(scenario())
    assert dialog.best == "automatic", dialog.advice.text()
    dialog.apply_button.click()
    box = window.switch.box
    if box is not None and box.isVisible():
        next(b for b in box.buttons() if b.text() == "Change it").click()
    conv = window.session.conversation
    assert (conv.pattern, conv.ttl, conv.warming, conv.keepalive_pings) == (
        "automatic",
        "5m",
        False,
        0,
    )
    assert not window.toolbar.warm_box.isChecked() and window.toolbar.pings.value() == 0
    assert "no warm-ups, no keep-alive pings" in window.status_label.text()
    assert window.workspace.engine.settings.warming  # the user's, for other conversations

    async def attach():
        paper = document_from_text(text_of(20_000, "annex"), "annex.txt")
        decided = window.chat.set_draft("", (paper,), now=True)
        warm = await decided if decided is not None else None
        await client.close()
        return warm

    assert loop.run_until_complete(attach()) is None


def test_the_dialog_offers_no_switch_when_nothing_it_can_follow_costs_less(qtbot):
    """Automatic caching cost as much as the conversation's own settings: the button offered it
    all the same (the first of a tie); now it says there is nothing to change, and aider's way,
    cheaper by less than the table's last digit, is not named as cheaper."""
    from app.ui.widgets.replay_dialog import ReplayDialog

    dialog = ReplayDialog("t")
    qtbot.addWidget(dialog)
    dialog.yours = YOURS
    report = Report(
        "t",
        [
            row("automatic", 0.014887, 0.625, "Automatic (top-level cache_control)"),
            row("aider_keepalive", 0.014838, 0.625, "aider with keep-alive pings"),
            row("cachescope", 0.014887, 0.625, "Cachescope, your settings"),
        ],
        0.014,
    )
    dialog.show_report(report, "", [])
    assert dialog.best == "cachescope" and dialog.follow is None
    assert not dialog.apply_button.isEnabled() and dialog.apply_button.text() == "Nothing to change"
    assert "cannot follow" not in dialog.advice.text()
