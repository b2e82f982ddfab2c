"""The conversation pane: safe markdown, breakpoint markers, cache tints, a streaming tail.

Model output is untrusted: links never open by themselves (only http/https, after the user sees
the real URL and confirms), raw HTML is not rendered, and no resource is loaded from disk or
network; only images this app registered itself (attachments) are shown.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QTextCursor, QTextDocument
from PySide6.QtWidgets import QMessageBox, QTextBrowser

from app.caching.builder import BuiltRequest
from app.caching.ledger import Usage
from app.caching.prefix_map import PrefixMap
from app.conversation.blocks import (
    ImageBlock,
    Message,
    TextBlock,
    ThinkingBlock,
    ToolResultBlock,
    ToolUseBlock,
)
from app.conversation.conversation import Conversation

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


def _safe(text: str) -> str:
    """Keep model text from opening a resource: markdown images become plain text."""
    return text.replace("![", "!\u200b[")


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
        url = f"{IMAGE_SCHEME}://{key}"
        self.document().addResource(QTextDocument.ResourceType.ImageResource, QUrl(url), image)
        self._registered.add(url)
        return url

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

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("conversation")
        self._tail_start: int | None = None
        self._tail_text = ""
        self._pending = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(BATCH_MS)
        self._timer.timeout.connect(self._flush_tail)
        self.last_built: BuiltRequest | None = None
        self.last_states: dict[str, str] = {}

    # -- whole conversation ---------------------------------------------------------------------
    def show_conversation(self, conversation: Conversation) -> None:
        self.document().clear()  # also drops registered images: register them again below
        self._registered.clear()
        parts = []
        if conversation.system:
            parts.append(self._section("System prompt", "system", conversation.system_text))
        for index, message in enumerate(conversation.messages):
            parts.append(self._message_markdown(index, message))
        text = "\n\n".join(parts) or "*Start the conversation below.*"
        self.document().setMarkdown(text, FEATURES)
        self._tail_start = None
        self.moveCursor(QTextCursor.MoveOperation.End)

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
        return f"{head}\n\n{_safe(body)}"

    def _message_markdown(self, index: int, message: Message) -> str:
        who = {"user": "You", "assistant": "Claude"}.get(message.role, message.role)
        if message.is_tool_result:
            who = "Tool results"
        title = f"### {who}" + (" *(interrupted)*" if message.interrupted else "")
        lines = [title]
        for j, block in enumerate(message.blocks):
            marker = self._marker(f"messages.{index}.content.{j}")
            if isinstance(block, TextBlock):
                lines.append(_safe(block.text) + (f"\n\n{marker}" if marker else ""))
            elif isinstance(block, ImageBlock):
                url = self.register_image(block.image.sha256, _thumbnail(block.image))
                lines.append(
                    f"![attachment]({url})\n\n*{block.image.width} x "
                    f"{block.image.height} px, {block.image.size_bytes // 1024} KB, "
                    f"~{block.image.tokens} tokens*{marker}"
                )
            elif isinstance(block, ToolUseBlock):
                lines.append(f"`tool call: {block.name}({block.input_json[:120]})`{marker}")
            elif isinstance(block, ToolResultBlock):
                flag = "error" if block.is_error else "result"
                lines.append(f"`tool {flag}: {block.text[:200]}`{marker}")
            elif isinstance(block, ThinkingBlock):
                lines.append(f"> *thinking:* {_safe(block.thinking[:300])}")
        return "\n\n".join(lines)

    # -- the streaming tail ---------------------------------------------------------------------
    def begin_reply(self) -> None:
        cursor = self.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertBlock()
        cursor.insertMarkdown("### Claude\n\n", FEATURES)
        self._tail_start = cursor.position()
        self._tail_text = ""

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
        cursor.removeSelectedText()
        cursor.insertMarkdown(_safe(self._tail_text) or "…", FEATURES)
        self.moveCursor(QTextCursor.MoveOperation.End)

    def tail_text(self) -> str:
        return self._tail_text


def _thumbnail(image):
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage

    qimage = QImage.fromData(image.data)
    if qimage.width() > 320:
        qimage = qimage.scaledToWidth(320, Qt.TransformationMode.SmoothTransformation)
    return qimage


__all__ = ["ConversationView", "SafeBrowser", "FEATURES"]
