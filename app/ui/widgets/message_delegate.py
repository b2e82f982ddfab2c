"""Draws one row of the conversation pane: its header, its cache marks in the gutter and its
laid-out document, which is kept (per body and width) so a repaint never lays text out again.

A row nobody has looked at yet gets an estimated height from its length; the pane replaces
estimates with exact heights for what is on screen and, a few at a time, for the rest.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRect, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAbstractTextDocumentLayout,
    QColor,
    QFont,
    QFontMetrics,
    QPainter,
    QPainterPath,
    QPalette,
    QTextCursor,
    QTextFormat,
)
from PySide6.QtWidgets import QStyle, QStyledItemDelegate

from app.ui.widgets.highlight import CodeHighlighter
from app.ui.widgets.message_rows import IMAGE_SCHEME, Row, image_url
from app.ui.widgets.safe_browser import FEATURES, SafeDocument
from app.ui.widgets.thumbnails import Thumbnails, thumbnail_size
from app.ui.widgets.untrusted import unbreak

ROW_ROLE = Qt.ItemDataRole.UserRole + 1
GUTTER = 34  # left of each row: the breakpoint flag and the read/written/paid bar
PAD = 8
KEEP_DOCUMENTS = 300  # laid-out documents kept; heights are kept for every row
READ, WRITTEN, PAID = QColor("#2e9d57"), QColor("#e0a526"), QColor("#d9534f")
FLAG = QColor("#2f6fdb")


@dataclass(frozen=True)
class Cached:
    documents: int
    heights: int


@dataclass(frozen=True)
class CodeRun:
    top: float
    bottom: float
    text: str


def is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Base).lightness() < 128


class MessageDelegate(QStyledItemDelegate):
    measured = Signal(str)  # a row's key: its exact height differs from the one given
    repaint_needed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        # Both keyed by the row (its key, and what changes its layout) and holding the body they
        # were made for: a row whose body changes (a reply streaming in) replaces its entry
        # instead of adding one per flush, so memory follows the rows, not the deltas.
        self._documents: OrderedDict[tuple, tuple[str, SafeDocument]] = OrderedDict()
        self._heights: dict[tuple, tuple[str, int]] = {}
        self.thumbnails = Thumbnails(self)
        self.thumbnails.ready.connect(self._thumbnail_ready)
        self.width = 600  # of the viewport, set by the pane
        self.dark = False
        self.set_font(QFont())

    # -- sizes ----------------------------------------------------------------------------------
    def text_width(self) -> int:
        return max(120, self.width - GUTTER - 2 * PAD)

    def header_height(self, row: Row) -> int:
        said = row.turn is not None and bool(row.turn.miss or row.turn.note)
        return self._header * (2 if said else 1) + PAD

    def _height_key(self, row: Row) -> tuple:
        said = bool(row.turn and (row.turn.miss or row.turn.note))
        return (row.key, row.kind, said, self.text_width())

    def _known_height(self, row: Row) -> int | None:
        found = self._heights.get(self._height_key(row))
        return found[1] if found is not None and found[0] == row.body else None

    def is_exact(self, row: Row) -> bool:
        return self._known_height(row) is not None

    def sizeHint(self, option, index) -> QSize:  # noqa: N802 (Qt's name)
        row: Row = index.model().rows[index.row()]
        height = self._known_height(row)
        return QSize(self.width, height if height is not None else self.estimate(row))

    def estimate(self, row: Row) -> int:
        """A height from the body's length alone (no layout): close enough for the scroll bar
        until the row is measured."""
        body = row.body
        lines = len(body) // self._per_line + body.count("\n") + 1
        pictures = sum(thumbnail_size(image.width, image.height)[1] for image in row.images)
        return self.header_height(row) + lines * self._line + pictures + 2 * PAD

    def set_font(self, font: QFont) -> None:
        self.font = font
        metrics = QFontMetrics(font)
        self._line = metrics.lineSpacing()
        self._header = metrics.height() + 4
        self._per_line = max(20, self.text_width() // max(1, metrics.averageCharWidth()))

    def set_width(self, width: int) -> None:
        self.width = width
        self.set_font(self.font)

    def measure(self, row: Row) -> int:
        """The exact height (lays the body out, once per body and width)."""
        found = self._known_height(row)
        if found is None:
            document = self.document(row)
            found = self.header_height(row) + math.ceil(document.size().height()) + PAD
            self._heights[self._height_key(row)] = (row.body, found)
        return found

    # -- documents ------------------------------------------------------------------------------
    def document(self, row: Row) -> SafeDocument:
        key = (row.key, self.text_width(), self.dark)
        entry = self._documents.get(key)
        found = entry[1] if entry is not None and entry[0] == row.body else None
        if found is not None:
            self._documents.move_to_end(key)
            if row.kind != "reply" and found.colour_later:  # the reply just became a message
                found.colour_later = False
                QTimer.singleShot(0, lambda: self._colour(found))
            return found
        document = self.make_document(row, self.text_width())
        self._documents[key] = (row.body, document)
        self._documents.move_to_end(key)
        while len(self._documents) > KEEP_DOCUMENTS:
            self._documents.popitem(last=False)
        return document

    def make_document(self, row: Row, width: int) -> SafeDocument:
        document = SafeDocument()
        document.setDefaultFont(self.font)
        document.setUndoRedoEnabled(False)
        for image in row.images:
            document.register_image(image_url(image.sha256), self.thumbnails.get(image))
        # Inserted, not set: setMarkdown would clear the images registered above.
        QTextCursor(document).insertMarkdown(row.body, FEATURES)
        has_code = "```" in row.body or "~~~" in row.body
        document.colour_later = has_code and row.kind == "reply"
        if has_code and row.kind != "reply":  # a reply still streaming is coloured once finished
            self._colour(document, repaint=False)
        document.setTextWidth(width)
        return document

    def _colour(self, document: SafeDocument, repaint: bool = True) -> None:
        """Syntax colours for the document's code (a finished reply's: in the next turn of the
        event loop, so the pane's update at a turn's end does not wait for them)."""
        document.highlighter = CodeHighlighter(document, dark=self.dark)
        document.highlighter.rehighlight()
        if repaint:
            self.repaint_needed.emit()

    def _thumbnail_ready(self, sha: str) -> None:
        """A picture arrived: documents drawn with its placeholder are made again."""
        url = image_url(sha)
        for key in [k for k, (_, d) in self._documents.items() if url in d.registered]:
            del self._documents[key]
        self.repaint_needed.emit()

    def code_runs(self, document: SafeDocument) -> list[CodeRun]:
        """The fenced code blocks of a document, in its coordinates, with their text."""
        runs = getattr(document, "code_runs", None)
        if runs is not None:
            return runs
        runs, lines, top, bottom = [], [], 0.0, 0.0
        layout = document.documentLayout()
        block = document.begin()
        while block.isValid():
            if block.blockFormat().hasProperty(QTextFormat.Property.BlockCodeFence):
                rect = layout.blockBoundingRect(block)
                if not lines:
                    top = rect.top()
                lines.append(block.text())
                bottom = rect.bottom()
            elif lines:
                runs.append(CodeRun(top, bottom, unbreak("\n".join(lines))))
                lines = []
            block = block.next()
        if lines:
            runs.append(CodeRun(top, bottom, unbreak("\n".join(lines))))
        document.code_runs = runs
        return runs

    # -- geometry of one row --------------------------------------------------------------------
    def body_origin(self, row: Row, rect: QRect) -> QPointF:
        return QPointF(rect.left() + GUTTER + PAD, rect.top() + self.header_height(row))

    def copy_button(self, run: CodeRun, origin: QPointF) -> QRectF:
        width = QFontMetrics(self.font).horizontalAdvance("Copy") + 12
        right = origin.x() + self.text_width() - 4
        return QRectF(right - width, origin.y() + run.top + 2, width, 18)

    def hit(self, row: Row, rect: QRect, point) -> tuple[str, str] | None:
        """What is under a point of a row: ("link", url), ("copy", code), ("image", sha256),
        ("text", "") inside the body, or None."""
        origin = self.body_origin(row, rect)
        document = self.document(row)
        for run in self.code_runs(document):
            if self.copy_button(run, origin).contains(QPointF(point)):
                return "copy", run.text
        local = QPointF(point) - origin
        if local.x() < 0 or local.y() < 0 or local.y() > document.size().height():
            return None
        layout = document.documentLayout()
        anchor = layout.anchorAt(local)
        if anchor:
            return "link", anchor
        position = layout.hitTest(local, Qt.HitTestAccuracy.ExactHit)
        if position >= 0:
            for offset in (1, 0):
                probe = QTextCursor(document)
                probe.setPosition(min(position + offset, document.characterCount() - 1))
                fmt = probe.charFormat()
                if fmt.isImageFormat():
                    name = fmt.toImageFormat().name()
                    if name.startswith(IMAGE_SCHEME + ":") and name in document.registered:
                        return "image", name.split(":", 1)[1]
        return "text", ""

    # -- painting -------------------------------------------------------------------------------
    def paint(self, painter: QPainter, option, index) -> None:
        row: Row = index.model().rows[index.row()]
        rect = option.rect
        palette = option.palette
        if self.measure(row) != rect.height():
            self.measured.emit(row.key)
        painter.save()
        if row.dimmed:
            painter.setOpacity(0.45)
        background = {
            "error": QColor(217, 83, 79, 40),
            "edit": QColor(47, 111, 219, 30),
            "stopped": QColor(240, 173, 78, 40),  # a reply that never began: amber
        }.get(row.kind)
        if background is None and row.role == "user":
            background = palette.color(QPalette.ColorRole.AlternateBase)
        if background is not None:
            painter.fillRect(rect.adjusted(GUTTER, 2, -2, -2), background)
        if option.state & QStyle.StateFlag.State_HasFocus:
            painter.setPen(palette.color(QPalette.ColorRole.Highlight))
            painter.drawRect(rect.adjusted(GUTTER, 1, -2, -2))
        self._paint_header(painter, row, rect, palette)
        self._paint_gutter(painter, row, rect, palette)
        origin = self.body_origin(row, rect)
        document = self.document(row)
        painter.translate(origin)
        context = QAbstractTextDocumentLayout.PaintContext()
        context.palette = palette
        context.clip = QRectF(option.rect.translated(-origin.toPoint()))
        document.documentLayout().draw(painter, context)
        painter.translate(-origin)
        self._paint_copy_buttons(painter, document, origin, palette)
        painter.restore()

    def _paint_header(self, painter: QPainter, row: Row, rect: QRect, palette) -> None:
        metrics = QFontMetrics(self.font)
        x, y = rect.left() + GUTTER + PAD, rect.top() + 4
        bold = QFont(self.font)
        bold.setBold(True)
        painter.setFont(bold)
        painter.setPen(palette.color(QPalette.ColorRole.Text))
        title = row.title
        painter.drawText(QPointF(x, y + metrics.ascent()), title)
        x += QFontMetrics(bold).horizontalAdvance(title) + 10
        painter.setFont(self.font)
        painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
        notes = []
        if row.interrupted:
            notes.append("interrupted")
        if row.pinned:
            notes.append("cached up to here (pinned)")
        if row.dimmed:
            notes.append("replaced when the edit is sent")
        if notes:
            painter.drawText(QPointF(x, y + metrics.ascent()), " · ".join(notes))
        if row.turn is not None:
            line = row.turn.line()
            right = rect.right() - PAD
            painter.drawText(
                QPointF(right - metrics.horizontalAdvance(line), y + metrics.ascent()), line
            )
            if row.turn.miss or row.turn.note:  # a miss in red, else what context management did
                said = f"Cache miss: {row.turn.miss}" if row.turn.miss else row.turn.note
                if row.turn.miss:
                    painter.setPen(PAID)
                width = rect.width() - GUTTER - 2 * PAD
                miss = metrics.elidedText(said, Qt.TextElideMode.ElideRight, width)
                painter.drawText(
                    QPointF(
                        rect.left() + GUTTER + PAD, y + metrics.height() + 4 + metrics.ascent()
                    ),
                    miss,
                )

    def _paint_gutter(self, painter: QPainter, row: Row, rect: QRect, palette) -> None:
        marks = row.marks
        top = rect.top() + self.header_height(row)
        height = max(4, rect.bottom() - PAD - top)
        if marks.tokens:
            x = rect.left() + GUTTER - 8
            y = float(top)
            for colour, count in (
                (READ, marks.read),
                (WRITTEN, marks.written),
                (PAID, marks.uncached),
            ):
                if count:
                    part = height * count / marks.tokens
                    painter.fillRect(QRectF(x, y, 4, part), colour)
                    y += part
        if marks.flags:
            left, head = rect.left() + 6, rect.top() + 5
            path = QPainterPath()
            path.moveTo(left + 1, head)
            path.lineTo(left + 13, head + 4)
            path.lineTo(left + 1, head + 8)
            path.closeSubpath()
            painter.setPen(FLAG)
            painter.drawLine(QPointF(left, head), QPointF(left, head + 16))
            painter.fillPath(path, FLAG)
            small = QFont(self.font)
            small.setPointSizeF(max(6.0, self.font.pointSizeF() * 0.75))
            painter.setFont(small)
            label = marks.flags[-1] + (f"×{len(marks.flags)}" if len(marks.flags) > 1 else "")
            painter.drawText(QPointF(left - 2, head + 16 + QFontMetrics(small).ascent()), label)
            painter.setFont(self.font)

    def _paint_copy_buttons(self, painter: QPainter, document, origin: QPointF, palette) -> None:
        for run in self.code_runs(document):
            button = self.copy_button(run, origin)
            painter.setPen(palette.color(QPalette.ColorRole.Mid))
            painter.setBrush(palette.color(QPalette.ColorRole.Button))
            painter.drawRoundedRect(button, 4, 4)
            painter.setPen(palette.color(QPalette.ColorRole.ButtonText))
            painter.drawText(button, Qt.AlignmentFlag.AlignCenter, "Copy")

    # -- the text-selection browser (see ConversationView.editor_for) --------------------------
    def createEditor(self, parent, option, index):  # noqa: N802 (Qt's name)
        return self.parent().editor_for(parent, index.model().rows[index.row()])

    def updateEditorGeometry(self, editor, option, index) -> None:  # noqa: N802 (Qt's name)
        row = index.model().rows[index.row()]
        editor.setGeometry(self.parent().editor_rect(row, option.rect))

    def setEditorData(self, editor, index) -> None:  # noqa: N802 (Qt's name)
        pass  # the browser shows the row's body from the start; nothing is edited

    def setModelData(self, editor, model, index) -> None:  # noqa: N802 (Qt's name)
        pass

    def cached(self) -> Cached:
        """How many laid-out documents and heights are kept (memory follows the rows)."""
        return Cached(len(self._documents), len(self._heights))

    def forget(self) -> None:
        """The font, palette or width changed: lay everything out again when needed."""
        self._documents.clear()
        self._heights.clear()
