"""The window does what the engine's benchmark promises (issue 26), driven as a user would: the
first message is warmed while it is typed, the chips a send clears warm nothing, a conversation
left for another keeps pinging under its own settings and the history records it, the indicator
speaks of the request Send would send, and a switch that costs cached tokens asks first."""

import anthropic
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from app.caching.costs import Kind
from app.conversation.conversation import Conversation
from app.engine import events as ev
from app.engine.engine import Engine, EngineSettings
from app.engine.session import Session
from app.storage.store import Store
from tests.helpers import SONNET_46, FakeClock, raw_post, text_of
from tests.uikit import drop_files, make_window, turn_over, until, window_on


def warm_ups(events) -> list:
    return [e for e in events if isinstance(e, ev.RequestBuilt) and e.kind == Kind.WARM]


def test_a_pasted_document_is_warmed_while_the_question_is_typed(qtbot, loop, sim, tmp_path):
    """The cookbook's scenario in the window: nothing was sent until Enter, then a warm-up and
    the turn one after the other (first token later than sending cold)."""
    window, client = make_window(sim.base_url, system_tokens=0, warming=True)
    qtbot.addWidget(window)
    events = []
    window.engine.subscribe(events.append)
    (tmp_path / "paper.txt").write_text(text_of(12_000, "paper"))

    async def scenario():
        drop_files(window.composer.edit, [tmp_path / "paper.txt"])
        await until(lambda: window.composer.attachments)
        await until(lambda: warm_ups(events))  # on attach, before any key is pressed
        assert window.session.conversation.messages == []
        qtbot.keyClicks(window.composer.edit, "What does it conclude?")
        await until(lambda: not window.session.warm_tasks)
        qtbot.keyClick(window.composer.edit, Qt.Key.Key_Return)
        await until(lambda: turn_over(window))
        await client.close()

    loop.run_until_complete(scenario())
    (warm,) = warm_ups(events)
    turn = [r for r in window.session.totals.records if r.kind == Kind.TURN][-1]
    assert turn.usage.read >= 12_000 and turn.usage.write < 100
    assert warm.built.flat.blocks[warm.built.breakpoints[-1].index].cumulative >= 12_000


def test_the_chips_a_send_clears_warm_nothing(qtbot, loop, sim, tmp_path):
    """Sending 3 images fired up to 2 warm-ups as the composer cleared its chips one by one."""
    window, client = make_window(sim.base_url, warming=True)
    qtbot.addWidget(window)
    events = []
    window.engine.subscribe(events.append)
    paths = []
    for i, colour in enumerate(("red", "green", "blue")):
        Image.new("RGB", (500, 400), colour).save(tmp_path / f"{i}.png")
        paths.append(tmp_path / f"{i}.png")

    async def scenario():
        drop_files(window.composer.edit, paths)
        await until(lambda: len(window.composer.attachments) == 3)
        await until(lambda: not window.session.warm_tasks)
        before = len(warm_ups(events))
        window.composer.edit.setPlainText("compare them")
        window.sending.send()
        await until(lambda: turn_over(window))
        await client.close()
        return before

    before = loop.run_until_complete(scenario())
    assert len(warm_ups(events)) == before  # none after the send


def window_with_history(sim, folder, pings):
    """A window with a history, whose engine sleeps in simulated time (pings come at once)."""
    clock = FakeClock()
    client = anthropic.AsyncAnthropic(base_url=sim.base_url, api_key="k", max_retries=0)

    async def sleep(seconds):
        clock.offset += seconds
        raw_post(sim.base_url, "/_sim/clock/advance", {"seconds": seconds})

    settings = EngineSettings(keepalive_pings=pings, warming=False)
    engine = Engine(client, settings, clock=clock, sleep=sleep)
    conv = Conversation(model=SONNET_46, max_tokens=300, pattern="smart", ttl="5m")
    conv.set_system_text(text_of(3000, "system"))
    window = window_on(engine, Session(conv), folder)
    return window, client, window.history, window.workspace.writer


def test_a_conversation_left_for_another_keeps_its_pings_and_the_history_shows_them(
    qtbot, loop, sim, tmp_path
):
    """A conversation set to smart/5m pinged as system_and_tools/1h after a switch, and the
    history held no keep-alive row."""
    window, client, library, writer = window_with_history(sim, tmp_path, pings=1)
    qtbot.addWidget(window)
    window.settings.prefs.strategy, window.settings.prefs.ttl = "system_and_tools", "1h"
    window.engine.settings.strategy = "system_and_tools"

    async def scenario():
        first = window.chat
        window.composer.edit.setPlainText("hello")
        window.sending.send()
        await until(lambda: turn_over(window))
        library.new_conversation()  # the first one's ping is still to come
        assert window.chat is not first
        await until(lambda: first.idle(), timeout=30)
        await writer.flush()
        await library.open(first.id)
        await writer.flush()
        await client.close()
        return first

    first = loop.run_until_complete(scenario())
    pings = [r for r in first.session.totals.records if r.kind == Kind.KEEPALIVE]
    assert len(pings) == 1 and pings[0].strategy == "smart" and pings[0].usage.write_1h == 0
    _, records, _ = Store.open(tmp_path).load(first.id)
    assert [r["kind"] for r in records].count(Kind.KEEPALIVE) == 1
    assert first.closed  # closed once its ping was done: nothing of it runs any more
    reopened = [r.kind for r in window.session.totals.records]  # loaded from the history
    assert window.session.id == first.id and reopened.count(Kind.KEEPALIVE) == 1
    shown = window.sidebar.requests
    listed = [shown.item(i).text() for i in range(shown.count())]
    assert any(line.startswith("keepalive: read 3,0") for line in listed), listed
    writer.close()


def test_the_indicator_speaks_of_the_request_send_would_send(qtbot, loop, sim):
    """After a model switch the entry is unreadable; the indicator said "warm"."""
    window, client = make_window(sim.base_url)
    qtbot.addWidget(window)

    async def scenario():
        window.composer.edit.setPlainText("hello")
        window.sending.send()
        await until(lambda: turn_over(window))
        warm_before = window.composer.warm_state
        box = window.switch.change("the model", model="claude-haiku-4-5")
        if box is not None:  # it costs the cached tokens: the user agrees
            [b for b in box.buttons() if b.text() == "Change it"][0].click()
        await client.close()
        return warm_before

    warm_before = loop.run_until_complete(scenario())
    assert warm_before == "warm"
    assert window.session.conversation.model == "claude-haiku-4-5"
    label = window.composer.warm_label.text()
    assert window.composer.warm_state != "warm", label


def test_a_pattern_switch_that_costs_cached_tokens_asks_first(qtbot, loop, sim):
    window, client = make_window(sim.base_url, system_tokens=6000)
    qtbot.addWidget(window)

    async def scenario():
        window.composer.edit.setPlainText("hello")
        window.sending.send()
        await until(lambda: turn_over(window))
        window.toolbar.pattern_box.setCurrentIndex(window.toolbar.pattern_box.findData("none"))
        await client.close()

    loop.run_until_complete(scenario())
    box = window.switch.box
    assert isinstance(box, QMessageBox) and box.isVisible()
    assert "invalidates" in box.text() and "$" in box.text()
    assert window.session.conversation.pattern == "smart"  # not yet
    keep = [b for b in box.buttons() if b.text() == "Keep it as it is"][0]
    keep.click()
    assert window.session.conversation.pattern == "smart"
    assert window.toolbar.pattern_box.currentData() == "smart"  # the toolbar shows what is in force


def test_branches_are_drawn_and_switched_from_the_message_with_the_cache_said(qtbot, loop, sim):
    """Issue 28: edit and resend keeps both branches; the message says "Branch 2 of 2" with
    links to switch, and what switching would read from cache and write."""
    window, client = make_window(sim.base_url, system_tokens=4000)
    qtbot.addWidget(window)
    conv = window.session.conversation

    async def scenario():
        for text in ("What is in chapter one?", "And chapter two?"):
            window.composer.edit.setPlainText(text)
            window.sending.send()
            await until(lambda: turn_over(window))
        window.messages.edit_message(2)
        window.composer.edit.setPlainText("And chapter three?")
        window.sending.send()
        await until(lambda: turn_over(window))
        line = next(r.body for r in window.view.rows() if "Branch" in r.body)
        url = line.split("[‹ previous](")[1].split(")")[0]
        window.view.follow(url)  # the link, as a click on it does
        shown = [m.text for m in conv.messages if m.role == "user"]
        await client.close()
        return line, shown

    line, shown = loop.run_until_complete(scenario())
    assert "**Branch 2 of 2**" in line and "would read" in line and "from cache" in line
    # The turn that began the branch is no miss: the user replaced what it did not read.
    first_branch_turn = [r for r in window.session.totals.records if r.kind == Kind.TURN][2]
    assert first_branch_turn.cause == "branch" and "A new branch from message 3" in (
        first_branch_turn.explanation
    )
    assert shown == ["What is in chapter one?", "And chapter two?"]
    assert "Switched. Branch 1 of 2" in window.status_label.text()
