"""Soak: hundreds of turns, long replies and big tables through the real window.

PySide6 6.12.0 hands back ``None`` without a reference from every void call and every unset
``QVariant`` (an unset ``QTextFormat`` property, an item role never set). Each drains ``None``'s
reference count by one; Python 3.11 aborts (``none_dealloc``) when it reaches zero: turn 83 of a
session of short turns. These tests watch that count, so a binding or a call that leaks fails
here long before it can abort a user's session.
"""

import gc
import sys

from PySide6.QtGui import QTextDocument

from app.engine import events as ev
from app.ui.binding_check import PROBE_CALLS, binding_problem, none_references_lost
from app.ui.widgets.highlight import CodeHighlighter
from tests.uikit import make_window, turn_over, until

TURNS = 200
# None's count moves a little as objects come and go; a leak moves it by thousands.
SLACK = 200


def none_refs() -> int:
    gc.collect()
    return sys.getrefcount(None)


def big_reply(rows: int) -> str:
    table = "| row | tokens | state |\n|---:|---:|---|\n" + "".join(
        f"| {i} | {i * 7} | {'read' if i % 2 else 'written'} |\n" for i in range(rows)
    )
    lines = "".join(f"value_{i} = {i} * 2  # line {i}\n" for i in range(500))
    code = "```python\n" + lines + "```\n"
    return "A long answer.\n\n" + table + "\n" + code + "\nAnd some closing words.\n"


def test_the_installed_qt_binding_keeps_its_references_to_none():
    lost = none_references_lost()
    assert lost < PROBE_CALLS // 2, binding_problem(lost)
    assert binding_problem(PROBE_CALLS, python=(3, 11)) is not None  # what 6.12.0 would get
    assert binding_problem(PROBE_CALLS, python=(3, 12)) is None  # None is immortal there


def test_highlighting_ten_thousand_lines_leaves_none_alone(qapp):
    document = QTextDocument()
    document.setMarkdown(big_reply(10_000))
    highlighter = CodeHighlighter(document)
    before = none_refs()
    highlighter.rehighlight()  # every block: table cells, prose and 500 lines of code
    assert document.blockCount() > 500
    assert none_refs() >= before - SLACK


def test_hundreds_of_turns_and_a_ten_thousand_row_reply_keep_the_window_alive(qtbot, loop, sim):
    window, client = make_window(sim.base_url, system_tokens=1500)
    qtbot.addWidget(window)
    drops: list[int] = []

    async def scenario():
        before = none_refs()
        for turn in range(TURNS):
            window.composer.edit.setPlainText(f"question {turn}: what did this turn cost?")
            window.sending.send()
            done = turn + 1
            await until(
                lambda n=done: turn_over(window) and len(window.session.totals.records) >= n
            )
            if turn % 25 == 0:
                drops.append(before - none_refs())
                assert drops[-1] < SLACK, f"None lost {drops[-1]} references by turn {turn}"
        # A long reply streamed into the tail, then the whole pane drawn again as at a turn's end.
        window.view.begin_reply()
        text = big_reply(10_000)
        for start in range(0, len(text), 20_000):
            window.engine.emit(ev.TextDelta(window.session.id, text[start : start + 20_000]))
        window.view.flush_tail()
        window.workspace.show(window.chat)
        drops.append(before - none_refs())
        await client.close()

    loop.run_until_complete(scenario())
    assert len(window.session.conversation.messages) == 2 * TURNS
    assert window.session.totals.records[-1].usage.read > 1000  # still reading from the cache
    assert max(drops) < SLACK, drops
