"""A stopped reply in the window, offscreen, against the simulator, driven by keys: a new user
pressed Esc 0.25 s after Enter and the status line said "Stopped. The partial reply is kept."
while no reply row appeared, Paid, the chart and the inspector's list stayed as they were, and
the request had been billed. Now the stopped request shows under its question with its usage,
the status says what was billed, and every view counts it (they follow the same record).

streaming.md, "Event types" (``message_start`` holds the prompt's usage); docs/choices.md, "A
stopped turn" (the docs are silent on what an abandoned request is billed)."""

import asyncio

from PySide6.QtCore import Qt

from app.caching.costs import Kind, Stop
from app.simulator.runner import SimulatorThread
from app.simulator.server import SimulatorConfig
from app.storage.store import Store
from app.ui.widgets.sidebar import usd
from tests.uikit import close_history, make_window, turn_over, until


def press(qtbot, window, key) -> None:
    qtbot.keyClick(window.composer.edit, key)


async def ask(qtbot, window, text: str) -> None:
    window.composer.edit.setFocus()
    window.composer.edit.setPlainText(text)
    press(qtbot, window, Qt.Key.Key_Return)


def test_esc_right_after_enter_shows_the_billed_request_under_its_question_everywhere(
    qtbot, loop, tmp_path
):
    with SimulatorThread(SimulatorConfig(time_scale=2.0)) as slow:  # 0.86 s to begin
        window, client = make_window(slow.base_url, folder=tmp_path)
        qtbot.addWidget(window)
        said = []

        async def scenario():
            await ask(qtbot, window, "first question")
            await until(lambda: turn_over(window))
            said.append(window.sidebar.fields["paid"].text())
            await ask(qtbot, window, "a question stopped at once")
            await asyncio.sleep(0.05)
            await until(lambda: window.session.stream is not None)  # the request is out
            press(qtbot, window, Qt.Key.Key_Escape)
            said.append(window.status_label.text())  # while it waits for the response
            await until(lambda: turn_over(window))
            await close_history(window)
            await client.close()

        loop.run_until_complete(scenario())
    paid_before, waiting = said
    first, stopped = [r for r in window.session.totals.records if r.kind == Kind.TURN]
    assert stopped.stopped == Stop.BEFORE and stopped.cost.paid_usd > 0
    cost = f"${stopped.cost.paid_usd:.4f}"
    assert waiting.startswith("Stopping: the request has reached the API")
    assert window.status_label.text() == (
        f"Stopped before the reply began: the prompt was billed, {cost}."
    )
    # Nothing typed is lost: the question stays, the last message, unanswered.
    question = window.session.conversation.messages[-1]
    assert question.role == "user" and question.text == "a question stopped at once"
    # The pane: a row under the question says so, with its request's figures, and offers Retry.
    rows = window.view.rows()
    assert [r.kind for r in rows][-2:] == ["message", "stopped"]
    row = rows[-1]
    assert row.turn is not None and row.turn.cost_usd == stopped.cost.paid_usd
    assert (row.turn.read, row.turn.written) == (stopped.usage.read, stopped.usage.write)
    # The marks say what the stopped request wrote: the first reply and the question.
    assert sum(r.marks.written for r in rows) == stopped.usage.write
    shown = window.view.plain_text()
    assert "Stopped before the reply began: the prompt was billed." in shown
    assert "No reply was kept. Retry" in shown
    # The sidebar's Paid, the chart, the inspector's list and the history count it.
    assert paid_before == usd(first.cost.paid_usd)
    paid = first.cost.paid_usd + stopped.cost.paid_usd
    assert window.sidebar.fields["paid"].text() == usd(paid)
    assert window.sidebar.chart.records[-1] is stopped
    out = stopped.usage.output  # the one token message_start counts: "1 token", not "1 tokens"
    assert window.sidebar.fields["output"].text() == f"{out:,} token" + ("" if out == 1 else "s")
    window.inspector_dock.show()
    assert window.inspector.records[-1] is stopped
    assert window.inspector.picker.itemText(1).endswith(f"stopped, read {stopped.usage.read:,}")
    conv, records, _ = Store.open(tmp_path).load(window.session.id)
    assert len(conv.messages) == 3 and [r["stopped"] for r in records] == ["", "before"]
    assert records[1]["cost"][0] == stopped.cost.paid_usd


def test_retry_under_a_stopped_question_answers_it_and_the_stop_stays_on_the_books(qtbot, loop):
    with SimulatorThread(SimulatorConfig(time_scale=2.0)) as slow:  # 1.6 s to begin, cold
        window, client = make_window(slow.base_url)
        qtbot.addWidget(window)

        async def scenario():
            await ask(qtbot, window, "a question stopped at once")
            await asyncio.sleep(0.05)
            await until(lambda: window.session.stream is not None)  # the request is out
            press(qtbot, window, Qt.Key.Key_Escape)
            await until(lambda: turn_over(window))
            retry = window.view.maker.action("retry")
            window.view.follow(retry)  # the row's Retry link
            await until(lambda: turn_over(window) and window.chat.turn.records)
            await client.close()

        loop.run_until_complete(scenario())
    roles = [m.role for m in window.session.conversation.messages]
    assert roles == ["user", "assistant"]
    kinds = [r.kind for r in window.view.rows()]
    assert kinds[-3:] == ["message", "stopped", "message"]  # the stop stays, then the answer
    assert "Retry" not in window.view.plain_text()  # answered: nothing more to retry


def test_esc_while_the_reply_streams_keeps_it_with_its_figures_and_offers_regenerate(qtbot, loop):
    with SimulatorThread(SimulatorConfig(time_scale=1.0)) as slow:
        window, client = make_window(slow.base_url)
        qtbot.addWidget(window)

        async def scenario():
            await ask(qtbot, window, "a long answer please")
            await until(lambda: len(window.view.tail_text()) > 20)
            press(qtbot, window, Qt.Key.Key_Escape)
            await until(lambda: turn_over(window))
            await client.close()

        loop.run_until_complete(scenario())
    (record,) = [r for r in window.session.totals.records if r.kind == Kind.TURN]
    partial = window.session.conversation.messages[-1]
    assert partial.interrupted and record.reply_id == partial.id
    assert window.status_label.text() == (
        f"Stopped: the reply so far is kept (${record.cost.paid_usd:.4f} billed)."
    )
    row = window.view.rows()[-1]
    assert row.interrupted and row.turn is not None and row.turn.output == record.usage.output
    assert (
        window.view.plain_text().rstrip().endswith("Stopped: the reply so far is kept. Regenerate")
    )
