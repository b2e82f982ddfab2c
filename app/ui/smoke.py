"""``cachescope --smoke-test [--attach PATH ...]``: the window offscreen, one full turn (and, with
attachments, a follow-up) on the embedded simulator, what it saw printed, exit status 0 if it
worked. With ``--attach`` the last line is JSON:
``{"attachments": [{"path", "kind", "blocks", "tokens", "pages"|"files"}], "turns": [{"read",
"written", "uncached"}]}``, each attachment also saying how many of its documents went through the
Files API ("uploaded"); a refused path exits 2 with its message on stderr."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from PySide6.QtGui import QGuiApplication

from app.conversation.attachments import AttachedFolder, kind_of
from app.conversation.documents import LockedDocument
from app.engine.uploads import documents_of

TURN_TIMEOUT_S = 120


async def smoke_test(window, mode: str, paths: list[Path]) -> int:
    attached, window_items = [], []
    if paths:
        composer = window.composer
        composer.confirm_folders = False  # a folder is attached whole, as the chooser would
        composer.add_files([str(p) for p in paths])
        await asyncio.gather(*composer.pending)
        if composer.notice.text():
            print(f"smoke test: refused: {composer.notice.text()}", file=sys.stderr)
            return 2
        window_items = list(composer.attachments)
        attached = [_describe(path, item) for path, item in zip(paths, window_items, strict=True)]
    turns = []
    questions = ["Hello from the smoke test"]
    if paths:
        questions = ["Summarise the attachments.", "And what stands out in them?"]
    for question in questions:
        if not await _turn(window, question):
            return 1
        usage = _last_usage(window)
        turns.append({"read": usage.read, "written": usage.write, "uncached": usage.uncached})
    chat = window.workspace.current
    reply = chat.messages[-1]
    icon = "ok" if not QGuiApplication.windowIcon().pixmap(64, 64).isNull() else "missing"
    print(
        f"smoke test: mode={mode!r}; reply of {len(reply.text)} characters; "
        f"usage {_last_usage(window)}; icon {icon}"
    )
    if paths:
        sent_by_file = {b.document.sha256 for b in documents_of(chat.messages) if b.file_id}
        for entry, item in zip(attached, window_items, strict=True):
            documents = item.documents if isinstance(item, AttachedFolder) else [item]
            entry["uploaded"] = sum(getattr(d, "sha256", "") in sent_by_file for d in documents)
        print(json.dumps({"attachments": attached, "turns": turns}))
    return 0 if reply.role == "assistant" else 1


async def _turn(window, text: str) -> bool:
    window.composer.edit.setPlainText(text)
    finished = asyncio.Event()
    window.sending.turn_finished.connect(finished.set)
    window.sending.send()
    try:
        await asyncio.wait_for(finished.wait(), TURN_TIMEOUT_S)
    except TimeoutError:
        print(f"smoke test: no reply within {TURN_TIMEOUT_S} s", file=sys.stderr)
        return False
    finally:
        window.sending.turn_finished.disconnect(finished.set)
    chat = window.workspace.current
    if _last_usage(window) is None or chat.messages[-1].role != "assistant":
        failure = chat.turn.failure if chat.turn is not None else None
        said = failure.message if failure is not None else "no reply"
        print(f"smoke test: the turn failed: {said}", file=sys.stderr)
        return False
    return True


def _describe(path: Path, item) -> dict:
    out: dict = {"path": str(path), "kind": kind_of(Path(path))}
    if isinstance(item, AttachedFolder):
        out.update(blocks=len(item.documents), tokens=item.tokens, files=len(item.documents))
    elif isinstance(item, LockedDocument):
        out.update(blocks=1, tokens=item.tokens)
        if item.is_pdf:
            out["pages"] = item.pages
    else:
        out.update(blocks=1, tokens=item.tokens)
    return out


def _last_usage(window):
    """The usage of the last request of the last turn (its handle's records), if it ran."""
    turn = window.workspace.current.turn
    records = [r for r in turn.records if not r.error] if turn is not None else []
    return records[-1].usage if records else None
