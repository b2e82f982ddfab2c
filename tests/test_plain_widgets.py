"""Untrusted text is plain text in every widget outside the pane (issue 25, point 2): the status
line showed the start of an MCP result, a tool's name and API errors as rich text, and tooltips
drew a model-written link's address, so ``<img src=...>`` read a local file (a FIFO froze it).

The test puts hostile text through every path the issue names, then walks every widget of the
window and its dialogs: no label guesses its format, no label with markup holds outside text,
and no tooltip can be taken for HTML that loads anything."""

import ast
from pathlib import Path

from PySide6 import QtGui
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMessageBox, QWidget

from app.conversation.documents import document_from_text
from app.engine.toolbox import ApprovalRequest
from app.ui.features.claude.dialogs import ApprovalDialog
from app.ui.widgets.attachment_chip import AttachmentChip
from app.ui.widgets.plain import plain_tip
from tests.uikit import make_window

HOSTILE = "<img src='/tmp/cachescope-fifo'><b>bold</b> <a href='file:///etc/passwd'>x</a>"
UI = Path(__file__).resolve().parent.parent / "app" / "ui"


def walk(*tops: QWidget) -> list[QWidget]:
    """Every widget of these windows and what they own (their dialogs included)."""
    return [w for top in tops for w in (top, *top.findChildren(QWidget))]


def test_every_widget_shows_outside_text_as_written(qtbot, loop, sim):
    window, client = make_window(sim.base_url)
    qtbot.addWidget(window)
    window.notify(f"MCP server tiny: {HOSTILE}")  # a tool result's first characters
    assert HOSTILE in window.status_label.text()
    window.toolbar.show_connection(HOSTILE)  # an API error message
    chip = AttachmentChip(document_from_text("text", f"{HOSTILE}.txt"))
    qtbot.addWidget(chip)
    approval = ApprovalDialog(ApprovalRequest(HOSTILE, HOSTILE, '{"a": 1}'), window)
    qtbot.addWidget(approval)
    box = window.switch.change("the model", model="claude-opus-4-8")
    seen = 0
    for widget in walk(window, chip):
        if isinstance(widget, QLabel) and widget.text():  # (an icon's label has none)
            assert widget.textFormat() != Qt.TextFormat.AutoText, widget.text()
            if widget.textFormat() == Qt.TextFormat.RichText:
                assert HOSTILE not in widget.text() and "<img" not in widget.text()
            seen += HOSTILE in widget.text()
        assert "<img" not in widget.toolTip(), widget.toolTip()
    assert seen >= 2  # the badge, the approval dialog (the status line is checked above)
    assert window.status_label.textFormat() == Qt.TextFormat.PlainText
    if isinstance(box, QMessageBox):
        assert box.textFormat() == Qt.TextFormat.PlainText
    assert QtGui.Qt.mightBeRichText(plain_tip(HOSTILE)) and "<img" not in plain_tip(HOSTILE)
    loop.run_until_complete(client.close())


def test_every_tooltip_made_from_variables_goes_through_plain_tip():
    """The source rule behind the walk: a tooltip whose text is not a literal (an f-string, a
    variable, a call) is wrapped in ``plain_tip``; so is every ``QToolTip.showText``."""
    offenders = []
    for path in sorted(UI.glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            name = node.func.attr
            if name == "setToolTip" and node.args:
                arg = node.args[0]
            elif name == "showText" and len(node.args) >= 2:
                arg = node.args[1]
            else:
                continue
            literal = isinstance(arg, ast.Constant) or (
                isinstance(arg, ast.JoinedStr)
                and all(isinstance(v, ast.Constant) for v in arg.values)
            )
            wrapped = (
                isinstance(arg, ast.Call)
                and isinstance(arg.func, ast.Name)
                and arg.func.id == "plain_tip"
            )
            if not literal and not wrapped:
                offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []
