"""Where two requests' prefixes part, in words a person can act on: the block's path and the
first byte that differs in it (``system.0, byte 1,204: "10:41" became "10:42"``), and for the
tool definitions which tool changed, with its MCP server for Claude Code's
``mcp__SERVER__TOOL`` names.

Pure functions over two request bodies (the ``body`` of a ``BuiltRequest``: the app's own, or
another program's as the inspector read it)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from app.facts.tokens import canonical_json

EXCERPT_CHARS = 40  # the most shown of each side of a difference
CONTEXT_CHARS = 24  # how far an excerpt widens to whole words around the difference
MCP_PREFIX = "mcp__"


@dataclass(frozen=True)
class ByteDifference:
    path: str
    byte: int  # offset of the first differing byte in the block's text (UTF-8), or its JSON
    was: str  # the differing part before, widened to whole words, control characters escaped
    became: str

    def words(self) -> str:
        return f'{self.path}, byte {self.byte:,}: "{self.was}" became "{self.became}"'


@dataclass(frozen=True)
class ToolChange:
    name: str
    what: str  # "edited", "added", "removed" or "moved"

    @property
    def mcp_server(self) -> str | None:
        return mcp_server(self.name)

    def words(self) -> str:
        server = self.mcp_server
        named = f"{self.name} (MCP server {server})" if server else self.name
        return f"{named} was {self.what}"


def mcp_server(name: str) -> str | None:
    """The MCP server of a tool Claude Code names ``mcp__SERVER__TOOL`` (None for others)."""
    if not name.startswith(MCP_PREFIX):
        return None
    server, sep, _tool = name[len(MCP_PREFIX) :].partition("__")
    return server if sep and server else None


def block_at(body: dict, path: str) -> object:
    """The block at a flattened request's path (``system.0``, ``tools.3``,
    ``messages.2.content.1``, ``messages.2.content`` for a string body), or None."""
    value: object = body
    for part in path.split("."):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def _text(block: object) -> str | None:
    """What a person reads of a block: a text block's text, a string as it is, else its JSON
    without the breakpoint (which is no part of the prefix)."""
    if block is None:
        return None
    if isinstance(block, str):
        return block
    if (
        isinstance(block, dict)
        and block.get("type") == "text"
        and isinstance(block.get("text"), str)
    ):
        return block["text"]
    if isinstance(block, dict):
        block = {k: v for k, v in block.items() if k != "cache_control"}
    try:
        return canonical_json(block)
    except (TypeError, ValueError, RecursionError):
        return None


def common_prefix(a, b) -> int:
    """Length of the common start of two strings or byte strings (slice comparisons, so a
    megabyte costs microseconds, not a loop per character)."""
    low, high = 0, min(len(a), len(b))
    while low < high:
        mid = (low + high + 1) // 2
        if a[:mid] == b[:mid]:
            low = mid
        else:
            high = mid - 1
    return low


def _common_suffix(a: str, b: str, limit: int) -> int:
    low, high = 0, limit
    while low < high:
        mid = (low + high + 1) // 2
        if a[len(a) - mid :] == b[len(b) - mid :]:
            low = mid
        else:
            high = mid - 1
    return low


def _wordish(char: str) -> bool:
    return char.isalnum() or char in ":_-/"


def shown(text: str) -> str:
    """Text as one line of printable characters: control and format characters (newlines,
    terminal escapes, bidirectional overrides, line separators) as escapes."""
    if text.isprintable():
        return text
    out = []
    for char in text:
        if char in _NAMED:
            out.append(_NAMED[char])
        elif unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"):
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out)


_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _clip(text: str) -> str:
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"


def byte_difference(old_body: dict, new_body: dict, path: str) -> ByteDifference | None:
    """The first differing byte of the block at ``path`` between two requests, with the two
    differing parts widened to whole words (None: the block is absent on either side)."""
    old, new = _text(block_at(old_body, path)), _text(block_at(new_body, path))
    if old is None or new is None or old == new:
        return None
    start = common_prefix(old, new)
    end = _common_suffix(old, new, min(len(old), len(new)) - start)
    old_end, new_end = len(old) - end, len(new) - end
    left = start
    while left > 0 and start - left < CONTEXT_CHARS and _wordish(old[left - 1]):
        left -= 1
    grow = 0
    while old_end + grow < len(old) and grow < CONTEXT_CHARS and _wordish(old[old_end + grow]):
        grow += 1  # the shared tail: the same characters follow on both sides
    byte = common_prefix(old.encode("utf-8", "surrogatepass"), new.encode("utf-8", "surrogatepass"))
    return ByteDifference(
        path,
        byte,
        _clip(shown(old[left : old_end + grow])),
        _clip(shown(new[left : new_end + grow])),
    )


def _tools(body: dict) -> list[tuple[str, str]]:
    tools = body.get("tools") if isinstance(body, dict) else None
    out = []
    for tool in tools if isinstance(tools, list) else ():
        if isinstance(tool, dict):
            name = str(tool.get("name") or tool.get("type") or "?")
            out.append((name, _text(tool) or ""))
    return out


def tool_change(old_body: dict, new_body: dict) -> ToolChange | None:
    """The first tool that differs between two requests: edited (same name, other definition),
    added, removed or moved (the same tools in another order). None: the tools are equal."""
    old, new = _tools(old_body), _tools(new_body)
    if old == new:
        return None
    before, after = dict(old), dict(new)
    for (old_name, old_def), (new_name, new_def) in zip(old, new, strict=False):
        if old_name == new_name and old_def != new_def:
            return ToolChange(new_name, "edited")
        if old_name != new_name:
            if new_name not in before:
                return ToolChange(new_name, "added")
            if old_name not in after:
                return ToolChange(old_name, "removed")
            return ToolChange(new_name, "moved")
    if len(new) > len(old):
        return ToolChange(new[len(old)][0], "added")
    return ToolChange(old[len(new)][0], "removed")
