"""The conversation pane: safe markdown, breakpoint markers, cache tints, a streaming tail.

Model output is untrusted: links never open by themselves (only http/https, after the user sees
the real URL and confirms), raw HTML is not rendered, and no resource is loaded from disk or
network; only images this app registered itself (attachments) are shown.
"""

from __future__ import annotations

import bisect
import time

from PySide6.QtCore import QByteArray, QMimeData, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QPalette, QTextCursor, QTextDocument
from PySide6.QtWidgets import QMessageBox, QTextBrowser

from app.caching.builder import BuiltRequest
from app.caching.costs import Kind
from app.caching.ledger import Usage
from app.caching.prefix_map import PrefixMap
from app.conversation.blocks import (
    DocumentBlock,
    ImageBlock,
    Message,
    TextBlock,
    ThinkingBlock,
    ToolResultBlock,
    ToolUseBlock,
)
from app.conversation.conversation import Conversation
from app.engine import events as ev
from app.ui.dialogs import open_document
from app.ui.highlight import CodeHighlighter
from app.ui.untrusted import FENCE, literal, prose, unbreak

MARKDOWN = QTextDocument.MarkdownFeature.MarkdownDialectGitHub
NO_HTML = QTextDocument.MarkdownFeature.MarkdownNoHTML
FEATURES = QTextDocument.MarkdownFeature(MARKDOWN.value | NO_HTML.value)
STATE_MARK = {
    "read": "🟩 read from cache",
    "written": "🟨 written to cache",
    "uncached": "🟥 paid in full",
}
IMAGE_SCHEME = "cachescope-image"
BATCH_MS = 40
FLUSH_SHARE = 4  # the streaming tail may keep the GUI thread busy 1/FLUSH_SHARE of the time
SYSTEM_PREVIEW_CHARS = 400
SHOWN_CHARS = 100_000  # of one text block; the rest is kept, saved and sent, but not drawn


class SafeBrowser(QTextBrowser):
    link_refused = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.anchorClicked.connect(self._on_link)
        self._registered: set[str] = set()
        self.confirm_links = True

    def register_image(self, key: str, image) -> str:
        # The key in the path: as a host (63 characters at most) Qt made every URL empty.
        url = f"{IMAGE_SCHEME}:{key}"
        self.document().addResource(QTextDocument.ResourceType.ImageResource, QUrl(url), image)
        self._registered.add(url)
        return url

    def createMimeDataFromSelection(self):  # noqa: N802 (Qt's name)
        """Copy gives the text as written: without the break points added for layout."""
        mime = super().createMimeDataFromSelection()
        text = mime.text()
        if text:
            clean = QMimeData()
            clean.setText(unbreak(text))
            return clean
        return mime

    def loadResource(self, kind, url: QUrl):  # noqa: N802 (Qt's name)
        if url.toString() in self._registered:
            return super().loadResource(kind, url)
        # A valid, empty answer: returning nothing would make QTextDocument fall back to
        # reading file: and qrc: URLs itself.
        return QByteArray()

    def _on_link(self, url: QUrl) -> None:
        if url.scheme() not in ("http", "https"):
            self.link_refused.emit(url.toString())
            return
        if self.confirm_links:
            box = QMessageBox(
                QMessageBox.Icon.Question,
                "Open link?",
                f"Open this address in your browser?\n\n{url.toString()}",
                QMessageBox.StandardButton.Open | QMessageBox.StandardButton.Cancel,
                self,
            )
            box.accepted.connect(lambda: QDesktopServices.openUrl(url))
            box.open()
        else:
            QDesktopServices.openUrl(url)


class ConversationView(SafeBrowser):
    """Renders a conversation; while a reply streams, only its tail is redrawn, in batches."""

    pin_requested = Signal(int, bool)  # message index, pinned
    edit_requested = Signal(int)  # message index of a user message to edit and resend
    image_requested = Signal(str)  # sha256 of an attachment to show at full size

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("conversation")
        self.document().setUndoRedoEnabled(False)
        self.highlighter = CodeHighlighter(self.document(), dark=_is_dark(self))
        self._tail_start: int | None = None
        self._tail_text = ""
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(BATCH_MS)
        self._timer.timeout.connect(self._flush_tail)
        self.last_built: BuiltRequest | None = None
        self.last_states: dict[str, str] = {}
        self.conversation: Conversation | None = None
        self._starts: list[int] = []  # first block number of each message, in order

    # -- whole conversation ---------------------------------------------------------------------
    def show_conversation(self, conversation: Conversation) -> None:
        self.conversation = conversation
        self._registered.clear()
        self.highlighter.streaming_from = None
        document = self.document()
        document.clear()  # also drops registered images: register them again below
        cursor = QTextCursor(document)
        cursor.beginEditBlock()
        self._starts = []
        if conversation.system:
            cursor.insertMarkdown(
                self._section("System prompt", "system", conversation.system_text), FEATURES
            )
        for index, message in enumerate(conversation.messages):
            if index or conversation.system:
                cursor.insertBlock()
            self._starts.append(cursor.block().blockNumber())
            cursor.insertMarkdown(self._message_markdown(index, message), FEATURES)
        if not conversation.messages and not conversation.system:
            cursor.insertMarkdown("*Start the conversation below.*", FEATURES)
        cursor.endEditBlock()
        self._tail_start = None
        self.moveCursor(QTextCursor.MoveOperation.End)

    def scroll_to_message(self, index: int) -> None:
        """Bring a message (a search result) into view and put the cursor on it."""
        if not 0 <= index < len(self._starts):
            return
        block = self.document().findBlockByNumber(self._starts[index])
        cursor = QTextCursor(block)
        self.setTextCursor(cursor)
        rect = self.cursorRect(cursor)
        bar = self.verticalScrollBar()
        bar.setValue(bar.value() + rect.top() - 8)

    def message_at(self, position) -> int | None:
        """The index of the message under a viewport point, or None (system prompt, margins)."""
        block = self.cursorForPosition(position).block().blockNumber()
        index = bisect.bisect_right(self._starts, block) - 1
        if self.conversation is None or not 0 <= index < len(self.conversation.messages):
            return None
        return index

    def image_at(self, position) -> str | None:
        """The sha256 of the attachment under a viewport point, if any."""
        cursor = self.cursorForPosition(position)
        for offset in (0, 1):
            probe = QTextCursor(self.document())
            probe.setPosition(min(cursor.position() + offset, self.document().characterCount() - 1))
            fmt = probe.charFormat()
            if fmt.isImageFormat():
                name = fmt.toImageFormat().name()
                if name.startswith(IMAGE_SCHEME + ":") and name in self._registered:
                    return name.split(":", 1)[1]
        return None

    def mouseDoubleClickEvent(self, event):  # noqa: N802
        sha = self.image_at(event.position().toPoint())
        if sha is not None:
            self.image_requested.emit(sha)
            return
        super().mouseDoubleClickEvent(event)

    def contextMenuEvent(self, event):  # noqa: N802
        menu = self.createStandardContextMenu(event.pos())
        index = self.message_at(event.pos())
        sha = self.image_at(event.pos())
        if sha is not None:
            menu.addSeparator()
            menu.addAction("Open image at full size", lambda: self.image_requested.emit(sha))
        if index is not None and self.conversation is not None and self._tail_start is None:
            message = self.conversation.messages[index]
            menu.addSeparator()
            pin = menu.addAction("Cache up to here")
            pin.setCheckable(True)
            pin.setChecked(message.pinned)
            pin.setToolTip("Keep a breakpoint on this message (counted within the four)")
            pin.toggled.connect(lambda on: self.pin_requested.emit(index, on))
            if message.role == "user" and not message.is_tool_result:
                menu.addAction("Edit and resend", lambda: self.edit_requested.emit(index))
            documents = [b.document for b in message.blocks if isinstance(b, DocumentBlock)]
            for document in documents[:OPENABLE]:
                menu.addAction(
                    f"Open {document.name.rsplit('/', 1)[-1]}",
                    lambda d=document: open_document(d),
                )
        menu.exec(event.globalPos())

    def on_event(self, event: ev.Event) -> None:
        """The reply as it streams; a turn's usage colours the blocks of the request it answered."""
        if isinstance(event, ev.TextDelta):
            self.append_delta(event.text)
        elif isinstance(event, ev.UsageReported) and event.kind == Kind.TURN:
            self.set_cache_view(event.built, event.usage)

    def set_cache_view(self, built: BuiltRequest | None, usage: Usage | None) -> None:
        self.last_built = built
        self.last_states = {}
        if built is not None and usage is not None:
            prefix = PrefixMap.of(built)
            for row, state in zip(prefix.rows, prefix.states(usage), strict=True):
                self.last_states[row.path] = state

    def _marker(self, path: str) -> str:
        out = []
        if self.last_built is not None:
            for point in self.last_built.breakpoints:
                if self.last_built.flat.blocks[point.index].path == path:
                    out.append(f"`⚑ breakpoint {point.ttl}`")
        if path in self.last_states:
            out.append(STATE_MARK[self.last_states[path]])
        return "  " + " · ".join(out) if out else ""

    def _section(self, title: str, path: str, body: str) -> str:
        head = f"**{title}**{self._marker(path + '.0')}"
        if len(body) > SYSTEM_PREVIEW_CHARS:  # a long prompt would bury the conversation
            body = (
                body[:SYSTEM_PREVIEW_CHARS].rstrip()
                + f" … *({len(body):,} characters in all; see or edit it with"
                " Conversation → System prompt and tools, Ctrl+Shift+E)*"
            )
        return f"{head}\n\n{prose(body)}"

    def _message_markdown(self, index: int, message: Message) -> str:
        who = {"user": "You", "assistant": "Claude"}.get(message.role, message.role)
        if message.is_tool_result:
            who = "Tool results"
        title = f"### {who}" + (" *(interrupted)*" if message.interrupted else "")
        if message.pinned:
            title += " · 📌 *cached up to here*"
        lines = [title]
        folders = _folder_runs(message.blocks)
        inside = {k for start, (end, _) in folders.items() for k in range(start + 1, end)}
        for j, block in enumerate(message.blocks):
            marker = self._marker(f"messages.{index}.content.{j}")
            if j in folders:  # a folder's files: one card for the run
                end, name = folders[j]
                run = [b.document for b in message.blocks[j:end]]
                found = (self._marker(f"messages.{index}.content.{k}") for k in range(j, end))
                marks = "".join(dict.fromkeys(m for m in found if m))  # each state once
                tokens = sum(d.tokens for d in run)
                lines.append(
                    f"**Folder** {literal(name)}/ · {len(run)} files · ~{tokens:,} tokens{marks}"
                )
            elif j in inside:  # shown by its folder's card
                continue
            elif isinstance(block, DocumentBlock):
                doc = block.document
                lines.append(
                    f"**Document** {literal(doc.name)} · {doc.size_label} · ~{doc.tokens:,} tokens"
                    + marker
                )
            elif isinstance(block, TextBlock):
                lines.append(shown(block.text) + (f"\n\n{marker}" if marker else ""))
            elif isinstance(block, ImageBlock):
                url = self.register_image(block.image.sha256, _thumbnail(block.image))
                lines.append(
                    f"![attachment]({url})\n\n*{block.image.width} x "
                    f"{block.image.height} px, {block.image.size_bytes // 1024} KB, "
                    f"~{block.image.tokens} tokens (double-click to enlarge)*{marker}"
                )
            elif isinstance(block, ToolUseBlock):
                call = literal(f"{block.name}({block.input_json})", limit=120)
                lines.append(f"*tool call:* {call}{marker}")
            elif isinstance(block, ToolResultBlock):
                flag = "error" if block.is_error else "result"
                lines.append(f"*tool {flag}:* {literal(block.text, limit=200)}{marker}")
            elif isinstance(block, ThinkingBlock):
                lines.append(f"> *thinking:* {literal(block.thinking, limit=300)}")
        return "\n\n".join(lines)

    # -- the streaming tail ---------------------------------------------------------------------
    def begin_reply(self) -> None:
        cursor = self.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertBlock()
        cursor.insertMarkdown("### Claude\n\n", FEATURES)
        self._tail_start = cursor.position()
        self.highlighter.streaming_from = cursor.block().blockNumber()
        self._tail_text = ""
        self._timer.setInterval(BATCH_MS)

    def append_delta(self, text: str) -> None:
        self._tail_text += text
        if not self._timer.isActive():
            self._timer.start()

    def _flush_tail(self) -> None:
        if self._tail_start is None:
            return
        cursor = QTextCursor(self.document())
        cursor.setPosition(min(self._tail_start, self.document().characterCount() - 1))
        cursor.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
        started = time.perf_counter()
        cursor.removeSelectedText()
        cursor.insertMarkdown(shown(self._tail_text) or "…", FEATURES)
        self.moveCursor(QTextCursor.MoveOperation.End)
        # Each flush redraws the whole tail: space them out as it grows, so typing, scrolling
        # and Esc stay responsive however long the reply gets.
        spent_ms = (time.perf_counter() - started) * 1000
        self._timer.setInterval(max(BATCH_MS, int(spent_ms * (FLUSH_SHARE - 1))))

    def tail_text(self) -> str:
        return self._tail_text


OPENABLE = 8  # documents of one message offered in its context menu
FOLDER_RUN = 3  # consecutive documents from one folder shown as one card from this many


def _folder_runs(blocks) -> dict[int, tuple[int, str]]:
    """Runs of documents from one attached folder: start index -> (end index, folder name)."""
    runs: dict[int, tuple[int, str]] = {}
    j = 0
    while j < len(blocks):
        block = blocks[j]
        folder = block.document.name.split("/", 1)[0] if isinstance(block, DocumentBlock) else ""
        end = j
        while (
            folder
            and end < len(blocks)
            and isinstance(blocks[end], DocumentBlock)
            and blocks[end].document.name.startswith(folder + "/")
        ):
            end += 1
        if end - j >= FOLDER_RUN:
            runs[j] = (end, folder)
        j = max(end, j + 1)
    return runs


def shown(text: str) -> str:
    """A text block as drawn: safe markdown, cut at ``SHOWN_CHARS`` with a note saying so."""
    if len(text) <= SHOWN_CHARS:
        return prose(text)
    rest = len(text) - SHOWN_CHARS
    head = text[:SHOWN_CHARS]
    close = "\n```" if len(FENCE.findall(head)) % 2 else ""  # cut inside code: end the block
    return (
        prose(head)
        + close
        + f"\n\n*… {rest:,} more characters not shown here (a {len(text):,}-character text);"
        " they are kept, saved and sent in full.*"
    )


def _is_dark(widget) -> bool:
    return widget.palette().color(QPalette.ColorRole.Base).lightness() < 128


def _thumbnail(image):
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage

    qimage = QImage.fromData(image.data)
    if qimage.width() > 320:
        qimage = qimage.scaledToWidth(320, Qt.TransformationMode.SmoothTransformation)
    return qimage


__all__ = ["ConversationView", "SafeBrowser", "FEATURES"]
