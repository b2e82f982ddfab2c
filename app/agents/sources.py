"""Every input the gate and the calibrated replay take, told apart and read as runs of billed
requests, with one plain line for anything that cannot be used.

- a Claude Code session file (JSON lines; its ``subagents/`` included) or a project folder (all
  its sessions; a ``projects`` folder: all its projects);
- a captured run of the inspector (``captured/*.jsonl``: one ``app.inspect.observer.Line`` a
  line; read as written, never changed; it carries no output counts);
- a conversation exported as JSON (Conversation → Export: its request records);
- a trace (``app.replay.trace``): told apart here, replayed by the caller (it bills nothing).

Bounds: only regular files and folders are read (a FIFO or a device is refused before it is
opened); a JSON document over 100 MB is refused unread; a file is told apart from its first
line, read up to 8 MB.
"""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

from app.agents.calls import Call, Pricer
from app.agents.claude_code import sessions
from app.agents.reading import read_project, read_session
from app.agents.summary import Run
from app.caching.explainer import is_miss

MAX_DOCUMENT_BYTES = 100 * 1024 * 1024
HEAD_BYTES = 8 * 1024 * 1024
CAPTURED_KEYS = {"id", "time", "model", "read", "written_5m", "written_1h", "uncached", "session"}
# The app's explainer causes (app/caching/explainer.py), as the gate's reason kinds.
CAUSE_KINDS = {
    "model_switched": "model",
    "tools_changed": "tools",
    "system_changed": "system",
    "system_settings_changed": "system",
    "expired": "pause",
    "thinking_changed": "effort",
    "effort_changed": "effort",
    "format_changed": "prefix",
    "images_changed": "prefix",
    "tool_choice_changed": "tools",
    "message_edited": "prefix",
    "volatile_breakpoint": "prefix",
    "image_changed": "prefix",
    "thinking_dropped": "prefix",
}
TIMESTAMP = re.compile(
    r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?)?|\b\d{1,2}:\d{2}:\d{2}\b"
)


class InputError(ValueError):
    """An input that cannot be used, in one line."""


def _check(path: Path) -> str:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file or folder") from None
    except OSError as exc:
        raise InputError(f"{path}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        return "folder"
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{path}: not a regular file")
    if info.st_size == 0:
        raise InputError(f"{path}: the file is empty")
    return "file"


def kind_of(path: Path) -> str:
    """ "claude-code", "project", "captured", "export" or "trace"; InputError otherwise."""
    path = Path(path)
    if _check(path) == "folder":
        return "project"
    try:
        with open(path, "rb") as fh:
            head = fh.readline(HEAD_BYTES)
    except OSError as exc:
        raise InputError(f"{path}: {exc.strerror or exc}") from None
    try:
        first = json.loads(head)
    except (ValueError, RecursionError):
        first = None
    if isinstance(first, dict):
        if first.keys() >= CAPTURED_KEYS:
            return "captured"
        if "type" in first or "sessionId" in first or "uuid" in first:
            return "claude-code"
        if first.get("format") == "cachescope-conversation":
            return "export"
        if "events" in first and "model" in first:
            return "trace"
    elif len(head) >= HEAD_BYTES and b'"sessionId"' in head and b'"parentUuid"' in head:
        return "claude-code"  # a first line over 8 MB (a long paste): its start says enough
    elif head.lstrip().startswith(b"{"):  # a JSON document over several lines
        data = document(path)
        if isinstance(data, dict) and data.get("format") == "cachescope-conversation":
            return "export"
        if isinstance(data, dict) and "events" in data:
            return "trace"
    raise InputError(
        f"{path}: not a Claude Code session, a captured run, a conversation export or a trace"
    )


def document(path: Path):
    """A JSON document, read whole (100 MB at most)."""
    size = path.stat().st_size
    if size > MAX_DOCUMENT_BYTES:
        raise InputError(f"{path}: {size / 1e6:.0f} MB, over the 100 MB a JSON document may be")
    try:
        return json.loads(path.read_bytes())
    except (ValueError, RecursionError) as exc:
        raise InputError(f"{path}: not JSON ({str(exc)[:80]})") from None
    except OSError as exc:
        raise InputError(f"{path}: {exc.strerror or exc}") from None


def load(path: Path, pricer: Pricer) -> list[Run]:
    """The runs in ``path`` (a trace is refused here: see ``kind_of``)."""
    path = Path(path)
    kind = kind_of(path)
    if kind == "project":
        return _project(path, pricer)
    if kind == "claude-code":
        reading = read_session(path, pricer)
        if not reading.calls():
            raise InputError(f"{path}: a Claude Code session with no request in it")
        run = reading.run()
        run.name = reading.id
        return [run]
    if kind == "captured":
        return [captured_run(path, pricer)]
    if kind == "export":
        return [export_run(path, pricer)]
    raise InputError(f"{path}: a trace bills nothing; replay it (cachescope-check does)")


def _project(folder: Path, pricer: Pricer) -> list[Run]:
    folders = [folder] if sessions(folder) else []
    if not folders:
        try:
            folders = sorted(p for p in folder.iterdir() if p.is_dir() and sessions(p))
        except OSError as exc:
            raise InputError(f"{folder}: {exc.strerror or exc}") from None
    if not folders:
        raise InputError(f"{folder}: no Claude Code session in this folder")
    runs = []
    for project in folders:
        for reading in read_project(project, pricer):
            if reading.calls():
                run = reading.run()
                run.name = f"{project.name}/{reading.id}"
                runs.append(run)
    if not runs:
        raise InputError(f"{folder}: its sessions hold no request")
    return runs


def captured_run(path: Path, pricer: Pricer) -> Run:
    """The inspector's lines: each session (a key and a model) is a thread of its own."""
    calls, unreadable = [], 0
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, 1):
            try:
                line = json.loads(raw)
                if not raw.strip() or line.get("status", 200) != 200:
                    continue
                at = float(line["time"])
                counts = [int(line[k]) for k in ("read", "written_5m", "written_1h", "uncached")]
                if min(counts) < 0:
                    raise ValueError
                said = line.get("miss_reason") or line.get("server_miss_reason") or ""
                cost = line.get("cost_usd")
                calls.append(
                    Call(
                        f"{path.name}#{number}:{line['id']}",
                        at,
                        at,
                        str(line["model"]),
                        *counts,
                        0,
                        float(cost) if isinstance(cost, int | float) else None,
                        f"session {line['session']}",
                        said=str(said),
                    )
                )
            except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
                unreadable += raw.strip() != b""
    if not calls:
        raise InputError(f"{path}: a captured run with no request line in it")
    notes = ["a captured run records no output counts: output shows as 0"]
    if unreadable:
        notes.append(f"{path.name}: {unreadable} line(s) could not be read and were passed over")
    return Run(path.name, calls, pricer, notes)


def timestamp_in(text: str) -> tuple[int, str] | None:
    """The first date or time in ``text``: its byte offset (UTF-8) and the text found."""
    found = TIMESTAMP.search(text or "")
    if found is None:
        return None
    return len(text[: found.start()].encode("utf-8")), found.group(0)


def export_run(path: Path, pricer: Pricer) -> Run:
    """A conversation export's request records (turns, warm-ups, keep-alive pings), with the
    app's own explanation of each miss."""
    from app.storage.export import ExportFileError, import_json

    if path.stat().st_size > MAX_DOCUMENT_BYTES:
        raise InputError(f"{path}: over the 100 MB a JSON document may be")
    try:
        conversation, records = import_json(path)
    except ExportFileError as exc:
        raise InputError(str(exc)) from None
    stamp = timestamp_in(conversation.system_text) if conversation.system else None
    calls = []
    for number, record in enumerate(records, 1):
        try:
            if record.get("error"):
                continue
            usage = record["usage"]
            counts = [int(usage[k]) for k in ("read", "write_5m", "write_1h", "uncached")]
            cost = record.get("cost")
            known = isinstance(cost, list) and len(cost) == 3 and cost[2]
            cause = str(record.get("cause") or "")
            said = str(record.get("explanation") or "") if is_miss(cause) else ""
            kind = CAUSE_KINDS.get(cause, "said") if said else ""
            if kind == "system" and stamp is not None:
                said += (
                    f" The system prompt holds a timestamp (“{stamp[1]}” at system.0, byte"
                    f" {stamp[0]})."
                )
            at = float(record["at"])
            calls.append(
                Call(
                    f"{path.name}#{number}",
                    at,
                    at + float(record.get("ttft_s") or 0),
                    str(record["model"]),
                    *counts,
                    int(usage.get("output", 0)),
                    float(cost[0]) if known else None,
                    said=said,
                    said_kind=kind,
                )
            )
        except (ValueError, TypeError, KeyError, AttributeError):
            continue
    if not calls:
        raise InputError(f"{path}: the export holds no request record")
    return Run(conversation.title or path.name, calls, pricer)
