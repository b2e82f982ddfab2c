"""Documents and a text browser that never load anything they were not given.

Model output is untrusted: links never open by themselves (only http/https, after the user sees
the real address and confirms), raw HTML is not rendered (the markdown comes through
``app.ui.widgets.untrusted``), and no resource is read from disk or the network: a ``SafeDocument``
answers only with images this app registered itself (attachments).
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QMimeData, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QTextDocument
from PySide6.QtWidgets import QMessageBox, QTextBrowser, QWidget

from app.ui.widgets.plain import plain_box
from app.ui.widgets.untrusted import unbreak

MARKDOWN = QTextDocument.MarkdownFeature.MarkdownDialectGitHub
NO_HTML = QTextDocument.MarkdownFeature.MarkdownNoHTML
FEATURES = QTextDocument.MarkdownFeature(MARKDOWN.value | NO_HTML.value)


class SafeDocument(QTextDocument):
    """A document whose only resources are the images registered with it."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.registered: set[str] = set()
        self.colour_later = False  # a streamed reply's: its code is coloured once it is a message

    def register_image(self, url: str, image) -> None:
        self.addResource(QTextDocument.ResourceType.ImageResource, QUrl(url), image)
        self.registered.add(url)

    def loadResource(self, kind, url: QUrl):  # noqa: N802 (Qt's name)
        if url.toString() in self.registered:
            return super().loadResource(kind, url)
        # A valid, empty answer: returning nothing would make QTextDocument fall back to
        # reading file: and qrc: URLs itself.
        return QByteArray()


def open_link(url: QUrl, parent: QWidget, refused, confirm: bool = True) -> None:
    """Open an http/https address in the browser after the user saw it; refuse anything else
    (``refused`` is called with the address)."""
    if url.scheme() not in ("http", "https"):
        refused(url.toString())
        return
    if not confirm:
        QDesktopServices.openUrl(url)
        return
    box = QMessageBox(
        QMessageBox.Icon.Question,
        "Open link?",
        f"Open this address in your browser?\n\n{url.toString()}",
        QMessageBox.StandardButton.Open | QMessageBox.StandardButton.Cancel,
        parent,
    )
    plain_box(box)
    box.accepted.connect(lambda: QDesktopServices.openUrl(url))
    box.open()


class SafeBrowser(QTextBrowser):
    """Shows one message's document so its text can be selected and copied (the pane opens
    it over the message that was clicked). Links go through ``open_link``; the pane's own
    action links are handed to ``action``."""

    link_refused = Signal(str)
    action = Signal(str)

    def __init__(self, parent=None, is_action=lambda url: False):
        super().__init__(parent)
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.anchorClicked.connect(self._on_link)
        self.is_action = is_action
        self.confirm_links = True
        self.extra_menu = None  # adds the pane's actions for the message shown

    def contextMenuEvent(self, event):  # noqa: N802 (Qt's name)
        menu = self.createStandardContextMenu(event.pos())
        if self.extra_menu is not None:
            menu.addSeparator()
            self.extra_menu(menu)
        menu.exec(event.globalPos())

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
        document = self.document()
        if isinstance(document, SafeDocument):
            return document.loadResource(kind, url)
        return QByteArray()

    def _on_link(self, url: QUrl) -> None:
        if self.is_action(url.toString()):
            self.action.emit(url.toString())
            return
        open_link(url, self, self.link_refused.emit, self.confirm_links)
