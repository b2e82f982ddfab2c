"""The server tools Cachescope can switch on (web search, web fetch): their definitions as sent,
their price per use, from ``resources/server_tools.json``;
and how their results are estimated in tokens (encrypted payloads are not text)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache

from app.facts.catalogue import resources_dir
from app.facts.tokens import canonical_json, text_tokens


@dataclass(frozen=True)
class ServerTool:
    key: str  # "web_search", "web_fetch"
    label: str
    definition: dict  # the entry in ``tools``
    usd_per_use: float


@cache
def server_tools() -> dict[str, ServerTool]:
    raw = json.loads((resources_dir() / "server_tools.json").read_text("utf-8"))
    return {
        key: ServerTool(key, entry["label"], entry["definition"], entry["usd_per_use"])
        for key, entry in raw["tools"].items()
    }


def definitions(keys: tuple[str, ...]) -> list[dict]:
    """The ``tools`` entries of these server tools, in a fixed order (the file's)."""
    known = server_tools()
    return [dict(known[k].definition) for k in known if k in keys]


@cache
def encrypted_content_tokens() -> int:
    """What one encrypted payload of a server tool's result counts for in the estimate (its
    bytes are not text: the API decrypts them; ``resources/server_tools.json`` says why)."""
    raw = json.loads((resources_dir() / "server_tools.json").read_text("utf-8"))
    return int(raw["encrypted_content_tokens"])


# Blocks of a server tool's result that may hold encrypted payloads (web-search-tool.md:
# "encrypted_content"; code execution's "encrypted_stdout"); "encrypted_index" (a citation's)
# is a reference, not content.
ENCRYPTED_CARRIERS = frozenset(
    {"web_search_tool_result", "code_execution_tool_result", "web_fetch_tool_result"}
)
ENCRYPTED_PAYLOADS = frozenset({"encrypted_content", "encrypted_stdout"})


def server_result_tokens(block: dict) -> int:
    """A server tool's result: its visible fields as text, each encrypted payload as the fixed
    figure ``encrypted_content_tokens()`` (the API decrypts it into text of a size the client
    cannot see; its bytes are never counted as text: two results with 20 MB of
    ``encrypted_content`` each were "about 10,485,925 tokens", issue 40)."""
    payloads = 0

    def visible(value):
        nonlocal payloads
        if isinstance(value, dict):
            out = {}
            for key, inner in value.items():
                if key.startswith("encrypted_"):
                    payloads += key in ENCRYPTED_PAYLOADS
                    continue
                out[key] = visible(inner)
            return out
        if isinstance(value, list):
            return [visible(inner) for inner in value]
        return value

    shown = visible(block)
    return text_tokens(canonical_json(shown)) + payloads * encrypted_content_tokens()
