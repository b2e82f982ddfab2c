"""Export a conversation to Markdown (images as files beside it) or to JSON (complete and
re-importable), and import that JSON. Nothing here knows the API key, so no export can hold it."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from app.conversation.blocks import (
    DocumentBlock,
    ImageBlock,
    TextBlock,
    ThinkingBlock,
    ToolResultBlock,
    ToolUseBlock,
)
from app.conversation.conversation import Conversation, new_id

EXPORT_FORMAT = "cachescope-conversation"
EXPORT_VERSION = 1
EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp"}


class ExportFileError(ValueError):
    """An export file that cannot be imported, said plainly."""


def _atomic_write(path: Path, data: bytes) -> None:
    temp = path.with_name(path.name + ".part")
    temp.write_bytes(data)
    os.replace(temp, path)


def export_json(conversation: Conversation, path: Path, records: list[dict] | None = None) -> Path:
    payload = {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "conversation": conversation.to_dict(),
        "records": records or [],
    }
    _atomic_write(Path(path), json.dumps(payload, ensure_ascii=False, indent=1).encode("utf-8"))
    return Path(path)


def import_json(path: Path, taken_ids: set[str] = frozenset()) -> tuple[Conversation, list[dict]]:
    """The conversation and its request records; a conversation whose id is already in the
    history comes in as a copy with a new id (its messages, and so its requests, unchanged)."""
    try:
        payload = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ExportFileError(f"Cannot read {path}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise ExportFileError(f"{path} is not JSON: {exc.msg} at line {exc.lineno}.") from exc
    except RecursionError:
        raise ExportFileError(f"{path} is nested too deeply to be an export.") from None
    if not isinstance(payload, dict) or payload.get("format") != EXPORT_FORMAT:
        raise ExportFileError(f"{path} is not a Cachescope conversation export.")
    version = payload.get("version", 0)
    if not isinstance(version, int) or version > EXPORT_VERSION:
        raise ExportFileError(f"{path} comes from a newer Cachescope; update to import it.")
    try:
        conversation = Conversation.from_dict(payload["conversation"])
    except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as exc:
        what = f"missing {exc}" if isinstance(exc, KeyError) else str(exc) or type(exc).__name__
        raise ExportFileError(f"{path} is damaged ({what}); nothing was imported.") from None
    if conversation.id in taken_ids:
        conversation.id = new_id("c")
        conversation.title = (conversation.title or "Imported") + " (imported)"
    records = payload.get("records")
    records = [r for r in records if isinstance(r, dict)] if isinstance(records, list) else []
    return conversation, records


def fenced(text: str, info: str = "") -> list[str]:
    """``text`` as a fenced block that nothing inside it can close: the fence is longer than
    any run of backticks in the text (CommonMark)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence + info, text, fence]


def _plain(name: str) -> str:
    """A file name as text in Markdown: its markup characters escaped."""
    return re.sub(r"([\\`*_\[\]()<>#!|])", r"\\\1", name)


def export_markdown(conversation: Conversation, path: Path) -> Path:
    """``path`` (.md) and a folder ``<stem>_images`` beside it holding the images and PDFs.
    Every attachment is named; attached and pasted texts are fenced, so what they hold reads
    as they were and never as Markdown of the export's own."""
    path = Path(path)
    folder = path.with_name(path.stem + "_images")
    written: dict[str, str] = {}

    def saved(sha: str, data: bytes, extension: str) -> str:
        name = written.get(sha)
        if name is None:
            folder.mkdir(parents=True, exist_ok=True)
            name = f"{sha[:16]}.{extension}"
            _atomic_write(folder / name, data)
            written[sha] = name
        return f"{folder.name}/{name}"

    def image_link(block: ImageBlock) -> str:
        image = block.image
        where = saved(image.sha256, image.data, EXTENSIONS.get(image.media_type, "bin"))
        return f"![{_plain(image.source_name or 'image')}]({where})"

    def document_lines(block: DocumentBlock) -> list[str]:
        document = block.document
        name = f"{_plain(document.name)} ({document.size_label})"
        if document.is_pdf:
            return [f"**Attached:** [{name}]({saved(document.sha256, document.data, 'pdf')})"]
        suffix = Path(document.name).suffix.lstrip(".")
        info = suffix if suffix.isalnum() else ""
        return [f"**Attached:** {name}", *fenced(document.data.decode("utf-8", "replace"), info)]

    lines = [f"# {conversation.title or 'Conversation'}", ""]
    lines.append(f"*Model: {conversation.model}*")
    if conversation.system:
        lines += ["", "## System prompt", "", conversation.system_text]
    for message in conversation.messages:
        who = "You" if message.role == "user" else "Claude"
        if message.is_tool_result:
            who = "Tool results"
        lines += ["", f"## {who}" + (" (interrupted)" if message.interrupted else ""), ""]
        last = len(message.blocks) - 1
        for i, block in enumerate(message.blocks):
            if isinstance(block, TextBlock) and message.role == "user" and i < last:
                lines += ["**Pasted text:**", *fenced(block.text)]  # the typed words come last
            elif isinstance(block, TextBlock):
                lines.append(block.text)
            elif isinstance(block, ImageBlock):
                lines.append(image_link(block))
            elif isinstance(block, DocumentBlock):
                lines += document_lines(block)
            elif isinstance(block, ToolUseBlock):
                lines.append(f"`{block.name}({block.input_json})`")
            elif isinstance(block, ToolResultBlock):
                lines.append(f"> {'error' if block.is_error else 'result'}: {block.text}")
            elif isinstance(block, ThinkingBlock):
                lines.append(f"> *thinking:* {block.thinking}")
            lines.append("")
    _atomic_write(path, "\n".join(lines).encode("utf-8"))
    return path
