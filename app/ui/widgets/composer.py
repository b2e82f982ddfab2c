"""The composer: multi-line input, Enter sends (Shift+Enter: new line); drop, paste or pick images,
PDFs, text files and folders."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from PySide6.QtCore import QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.caching.costs import cost_of
from app.caching.ledger import Usage
from app.conversation.attachments import (
    AttachedFolder,
    AttachmentError,
    flatten,
    lock_file,
    lock_whole_folder,
)
from app.conversation.documents import document_from_text
from app.facts.catalogue import ModelInfo
from app.ui.widgets.attachment_chip import AttachmentChip
from app.ui.widgets.composer_edit import ComposerEdit
from app.ui.widgets.figures import attachment_tokens, text_figure
from app.ui.widgets.folder_dialog import FolderDialog
from app.ui.widgets.plain import OneLineLabel, plain_label, plain_tip, plural
from app.workspace import changes as ch
from app.workspace.outlook import NOTHING, Outlook

log = logging.getLogger(__name__)


SUMMARY_DELAY_MS = 250  # the draft's token count follows typing after this pause


@lru_cache(maxsize=1)
def document_patterns() -> tuple[str, ...]:
    """PDFs and every text and source file type Pygments knows (its lexers' file patterns):
    a filter named for documents should not hide a code base's files."""
    from pygments.lexers import get_all_lexers

    found = {"*.pdf", "*.txt", "*.md", "*.csv", "*.json", "*.html", "*.xml", "*.log"}
    for _name, _aliases, patterns, _mimetypes in get_all_lexers():
        found.update(p for p in patterns if p.startswith("*.") and " " not in p)
    return tuple(sorted(found))


def wrapping_policy() -> QSizePolicy:
    """A wrapped label's: its width follows the window, never the text; its height the lines."""
    policy = QSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    policy.setHeightForWidth(True)
    return policy


class Composer(QWidget):
    """The input area: text, attachments being locked, their chips, and messages about them."""

    send_requested = Signal()
    stop_requested = Signal()
    draft_edited = Signal()  # the text changed: typed, pasted, put back for an edit, cleared
    pasted_as_text = Signal()  # a long paste went into the text: decided at once, as an attachment
    attachments_changed = Signal()
    warm_state_changed = Signal(str)  # "idle", "warming", "warm" or "not warmed"
    folder_used = Signal(str)  # the folder a file dialog attached from

    def __init__(self, spawn: Callable, parent=None):
        """``spawn(coro)`` runs the work of locking attachments as a task its owner ends at
        quit (the workspace's)."""
        super().__init__(parent)
        self.spawn = spawn
        self.edit = ComposerEdit()
        self.edit.setMinimumHeight(56)
        self.edit.setMaximumHeight(120)
        self.attachments: list = []  # LockedImage, LockedDocument or AttachedFolder, in order
        # Chips scroll sideways inside the composer: many attachments never widen the window.
        chip_box = QWidget()
        self._chips = QHBoxLayout(chip_box)
        self._chips.setContentsMargins(0, 0, 0, 0)
        self._chips.addStretch(1)
        self.chip_area = QScrollArea()
        self.chip_area.setWidget(chip_box)
        self.chip_area.setWidgetResizable(True)
        self.chip_area.setFrameShape(QScrollArea.Shape.NoFrame)
        self.chip_area.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.chip_area.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.chip_area.hide()
        self._summary_timer = QTimer(self, singleShot=True, interval=SUMMARY_DELAY_MS)
        self._summary_timer.timeout.connect(self._summarise)
        self.notice = plain_label("")
        self.notice.setObjectName("composerNotice")
        self.notice.setWordWrap(True)
        self.notice.setSizePolicy(wrapping_policy())
        self.summary = plain_label("")
        self.summary.setObjectName("draftSummary")
        # Wrapped, and never a reason to widen the window (issue 28: 1,803 px on a 1,366 screen).
        self.summary.setWordWrap(True)
        self.summary.setSizePolicy(wrapping_policy())
        self.summary.setToolTip(
            "The attachments' tokens for this model, and what sending them costs when the cache"
            " is cold (written) and once it is warm (read)"
        )
        self.warm_label = OneLineLabel("cache: idle")
        self.warm_label.setObjectName("warmIndicator")
        self.warm_label.setToolTip("Speculative warming: the cache state of the next send's prefix")
        # A long reason ends with "…" at the window's edge (the tooltip has it whole), never
        # widens it.
        self.warm_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.warm_state = "idle"
        # What Send would send, priced, and the warm indicator: one state (``Chat.outlook``),
        # shown as the chat says it changed; the countdown ticks here, on ``clock``.
        self.outlook: Outlook = NOTHING
        self.clock: Callable[[], float] = time.time
        self._tick = QTimer(self, interval=1000)
        self._tick.timeout.connect(self._show_indicator)
        self.last_folder = ""  # where the file dialogs open (the preferences keep it)
        self.attach_button = QPushButton("Attach…")
        # The keys belong to File → Attach files… and Attach a folder… (the attachments feature)
        self.attach_button.setToolTip("Attach images, PDFs or text and code files (Ctrl+O)")
        self.folder_button = QPushButton("Folder…")
        self.folder_button.setToolTip(
            "Attach a folder: a code base, one document per file (Ctrl+Shift+A)"
        )
        self.send_button = QPushButton("Send")
        self.send_button.setDefault(True)
        self.send_button.setToolTip("Send (Enter)")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop the reply (Esc)")
        self.stop_button.setEnabled(False)
        row = QHBoxLayout()
        row.addWidget(self.attach_button)
        row.addWidget(self.folder_button)
        row.addWidget(self.warm_label, 1)
        row.addWidget(self.stop_button)
        row.addWidget(self.send_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.chip_area)
        layout.addWidget(self.edit)
        layout.addWidget(self.notice)
        layout.addWidget(self.summary)
        layout.addLayout(row)
        self.edit.send_requested.connect(self.send_requested)
        self.send_button.clicked.connect(self.send_requested)
        self.edit.stop_requested.connect(self.stop_requested)
        self.stop_button.clicked.connect(self.stop_requested)
        self.edit.textChanged.connect(self.draft_edited)
        self.edit.files_dropped.connect(self.add_files)
        self.edit.image_pasted.connect(lambda data: self.add_sources([data]))
        self.edit.refused.connect(self.notice.setText)
        self.edit.long_paste.connect(self._offer_attachment)
        self.attach_button.clicked.connect(lambda: self.pick())
        self.edit.textChanged.connect(self._summary_timer.start)
        self.folder_button.clicked.connect(self.pick_folder)
        self.pending: set[asyncio.Task] = set()
        self.confirm_folders = True  # show the folder chooser (off for the smoke test)
        self.model: ModelInfo | None = None  # prices and tokenizer for the draft's summary
        self.pasted = 0  # pasted texts attached so far, for their names
        self.pasted_texts: list[str] = []  # long pastes kept as text (sent as blocks of their own)
        self.attachments_changed.connect(self._summarise)

    def text(self) -> str:
        return self.edit.toPlainText().strip()

    def items(self) -> list:
        """What the next message carries, in order: a folder's files in its place."""
        return flatten(self.attachments)

    def clear(self, announce: bool = True) -> None:
        """Empty the draft; the change is announced once, not chip by chip (each step would be
        a draft nobody sends)."""
        self.edit.setPlainText("")  # also resets the wrap mode
        self.pasted_texts.clear()
        had = bool(self.attachments)
        for item in list(self.attachments):
            self._remove(item, announce=False)
        self.notice.setText("")
        if had and announce:
            self.attachments_changed.emit()
        else:
            self._summarise()

    def pick(self, kind: str = "") -> QFileDialog:
        """The file chooser, in the folder last used; ``kind`` "image" or "document" starts it
        on that filter."""
        dialog = QFileDialog(self, "Attach files", self.last_folder)
        dialog.setFileMode(QFileDialog.FileMode.ExistingFiles)
        filters = [
            "Anything Claude can read (*)",
            "Images (*.png *.jpg *.jpeg *.gif *.webp *.bmp *.tif *.tiff)",
            f"Documents and code ({' '.join(document_patterns())})",
        ]
        dialog.setNameFilters(filters)
        if kind:
            dialog.selectNameFilter(filters[1 if kind == "image" else 2])
        dialog.filesSelected.connect(self.attach_chosen)
        dialog.open()
        return dialog

    def pick_folder(self) -> QFileDialog:
        dialog = QFileDialog(self, "Attach a folder", self.last_folder)
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
        dialog.fileSelected.connect(lambda path: self.attach_chosen([path]))
        dialog.open()
        return dialog

    def attach_chosen(self, paths: list) -> None:
        """Chosen in a file dialog: attached, and where they were is where the next one opens."""
        if paths:
            where = Path(paths[0])
            self.last_folder = str(where if where.is_dir() else where.parent)
            self.folder_used.emit(self.last_folder)
        self.add_files(paths)

    def add_files(self, paths: list) -> None:
        self.add_sources([Path(p) if not str(p).startswith("http") else str(p) for p in paths])

    def add_sources(self, sources: list) -> None:
        """Lock each attachment off the GUI thread; refused ones get a clear inline message."""
        self.notice.setText("Preparing attachment…")
        task = self.spawn(self._lock_all(sources))
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)

    async def _lock_all(self, sources: list) -> None:
        problems = []
        for source in sources:
            try:
                if isinstance(source, Path) and source.is_dir():
                    item = await self._read_folder(source)
                    if item is None:
                        continue
                else:
                    item = await asyncio.to_thread(lock_file, source, True)
            except AttachmentError as exc:
                problems.append(str(exc))
                continue
            except Exception as exc:  # never leave the composer "preparing", nor drop the rest
                log.exception("locking an attachment failed")
                problems.append(f"{source} could not be attached ({type(exc).__name__}).")
                continue
            self._add_chip(item)
        self.notice.setText("\n".join(problems))
        self.attachments_changed.emit()

    async def _read_folder(self, path: Path) -> AttachedFolder | None:
        """Read a folder off the GUI thread with progress, then let the user choose its files."""
        loop = asyncio.get_running_loop()

        def progress(done: int, total: int) -> None:
            if done % 25 == 0:
                text = f"Reading {path.name}: {done:,} of {total:,} files…"
                loop.call_soon_threadsafe(self.notice.setText, text)

        folder = await asyncio.to_thread(lock_whole_folder, path, progress)
        if not self.confirm_folders:
            return folder
        request = self.outlook.request
        used = request.flat.total_tokens if request is not None else 0
        room = self.model.context_window - used if self.model is not None else None
        dialog = FolderDialog(folder, self, self.model, room)
        answer = loop.create_future()
        dialog.finished.connect(lambda code: answer.done() or answer.set_result(code))
        dialog.open()
        if await answer != FolderDialog.DialogCode.Accepted:
            return None
        chosen = dialog.chosen()
        return chosen if chosen.documents else None

    def _offer_attachment(self, text: str) -> None:
        """A long paste: as an attachment it is shown as a card, cached as one block and kept
        out of the message's text; the user chooses."""
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Attach the pasted text?",
            f"The pasted text has {len(text):,} characters (about {self.paste_tokens(text):,}"
            " tokens). Attach it as a document instead of putting it in your message?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            self,
        )
        box.button(QMessageBox.StandardButton.Yes).setText("Attach as document")
        box.button(QMessageBox.StandardButton.No).setText("Paste as text")
        box.finished.connect(
            lambda code: self._pasted(text, code == QMessageBox.StandardButton.Yes)
        )
        self.paste_box = box
        box.open()

    def paste_tokens(self, text: str) -> int:
        """The paste's tokens as its chip would say them (the document it would become)."""
        scale = self.model.token_scale if self.model is not None else 1.0
        return attachment_tokens(document_from_text(text, self._paste_name()), scale)

    def _paste_name(self) -> str:
        return f"pasted text {self.pasted + 1}"

    def _pasted(self, text: str, as_document: bool) -> None:
        if not as_document:
            self.pasted_texts.append(text.replace("\r\n", "\n").replace("\r", "\n"))
            self.edit.paste_as_text(text)
            self.pasted_as_text.emit()
            return
        name = self._paste_name()
        self.pasted += 1
        self._add_chip(document_from_text(text, name))
        self.attachments_changed.emit()

    def _remove(self, item, announce: bool = True) -> None:
        for i in range(self._chips.count()):
            widget = self._chips.itemAt(i).widget()
            if isinstance(widget, AttachmentChip) and widget.item is item:
                self._chips.removeWidget(widget)
                widget.deleteLater()
                break
        if item in self.attachments:
            self.attachments.remove(item)
        if announce:
            self.attachments_changed.emit()

    def set_model(self, model: ModelInfo) -> None:
        self.model = model
        for i in range(self._chips.count()):
            chip = self._chips.itemAt(i).widget()
            if isinstance(chip, AttachmentChip):
                chip.set_token_scale(model.token_scale)
        self._summarise()

    def _summarise(self) -> None:
        """The draft's size and price: its text and attachments, for this model."""
        items = self.items()
        text = self.text()
        self.chip_area.setVisible(bool(self.attachments))
        if self.attachments:
            chip = self._chips.itemAt(0).widget()
            bar = self.chip_area.horizontalScrollBar().sizeHint().height()
            self.chip_area.setFixedHeight(chip.sizeHint().height() + bar + 2)
        if (not items and not text) or self.model is None:
            self.summary.setText("")
            return
        scale = self.model.token_scale
        draft = sum(attachment_tokens(i, scale) for i in items) + text_figure(text, scale)
        sending = self.outlook.price
        if sending is None:  # no conversation to price it with: the draft alone
            cold = cost_of(Usage(write_5m=draft), self.model)
            warm = cost_of(Usage(read=draft), self.model)
            tokens = draft
            price = (
                f": about ${cold.paid_usd:.4f} to send cold, ${warm.paid_usd:.4f} once cached"
                if cold.known
                else " (prices unknown for this model)"
            )
        else:
            tokens = sending.tokens
            cached = f", {sending.read:,} from cache" if sending.read else ", nothing cached"
            # what the send writes now and, apart, what the same send would write cold (with
            # an adaptive TTL they differ: a warm send writes its tail for 1h, a cold one 5m)
            now = f"writing {sending.ttl} entries" if sending.ttl else "writing nothing new"
            cold = f"writing {sending.cold_ttl}" if sending.cold_ttl else "nothing written"
            price = (
                f"{cached}: about ${sending.usd:.4f} in input, {now};"
                f" ${sending.cold_usd:.4f} cold, {cold}"
                if sending.usd is not None
                else f"{cached} (prices unknown for this model)"
            )
        over = (
            f". That is more than {self.model.display_name}'s context window"
            f" ({self.model.context_window:,} tokens): it would be refused"
            if tokens > self.model.context_window
            else ""
        )
        tier = self.model.tier_start
        if not over and tier and tokens > tier:  # the price above already counts it
            over = (
                f". Over {tier:,} tokens {self.model.display_name} charges its higher tier"
                " on every token of the request"
            )
        what = f"{plural(len(items), 'attachment block')} + text" if items else "text"
        line = (
            f"Send: ~{tokens:,} tokens{price}; the draft ({what}) is ~{draft:,} tokens{over}"
            if sending is not None
            else f"Draft ({what}): ~{tokens:,} tokens{price}{over}"
        )
        self.summary.setText(line)
        self.summary.setToolTip(plain_tip(line))

    def watch(self, workspace) -> None:
        """Show what the conversation on screen of ``workspace`` would send, and its model's
        prices and tokenizer, as they change; the countdown ticks on the engine's clock."""
        self._workspace = workspace
        self.clock = workspace.engine.clock
        workspace.subscribe(self._on_change)
        self._on_change(None)

    def _on_change(self, change: ch.Change | None) -> None:
        chat = self._workspace.current
        if change is None or change.touches(ch.SETTINGS, ch.CURRENT):
            model = self._workspace.engine.resolve_model(chat.model_id)
            if model is not None and model is not self.model:
                self.set_model(model)
        if change is None or change.touches(ch.OUTLOOK, ch.DRAFT, ch.CURRENT):
            self.show_outlook(chat.outlook)

    def show_outlook(self, outlook: Outlook) -> None:
        """What Send would send and the warm indicator, from the chat's one state."""
        self.outlook = outlook
        self._summarise()
        self._show_indicator()
        if outlook.indicator.state == "warm":
            self._tick.start()
        else:
            self._tick.stop()

    def _show_indicator(self) -> None:
        indicator = self.outlook.indicator
        text = indicator.text(self.clock())
        self.warm_label.setText(f"cache: {text}")
        self.warm_label.setToolTip(plain_tip(f"Speculative warming: {text}"))
        if indicator.state != self.warm_state:
            self.warm_state = indicator.state
            self.warm_state_changed.emit(indicator.state)

    def show_draft(self, text: str, items: tuple, pasted: tuple) -> None:
        """Show the draft of the conversation now on screen (each keeps its own). Nothing is
        announced: showing a draft is no change to it, so it decides no warm-up (issue 35.1)."""
        with QSignalBlocker(self), QSignalBlocker(self.edit):
            self.clear(announce=False)
            self.edit.setPlainText(text)
            for item in items:
                self._add_chip(item)
            self.pasted_texts = list(pasted)
        self._summarise()

    def set_draft(self, text: str, items: list) -> None:
        """Put a message back into the composer (edit and resend)."""
        self.clear(announce=False)
        self.edit.setPlainText(text)
        for item in items:
            self._add_chip(item)
        self.attachments_changed.emit()
        self.edit.setFocus()

    def _add_chip(self, item) -> None:
        self.attachments.append(item)
        chip = AttachmentChip(item, token_scale=self.model.token_scale if self.model else 1.0)
        chip.removed.connect(lambda c: self._remove(c.item))
        self._chips.insertWidget(self._chips.count() - 1, chip)

    def set_streaming(self, streaming: bool) -> None:
        self.stop_button.setEnabled(streaming)
        self.send_button.setEnabled(not streaming)
