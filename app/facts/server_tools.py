"""The server tools Cachescope can switch on (web search, web fetch): their definitions as sent,
their price per use, from ``resources/server_tools.json``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache

from app.facts.catalogue import resources_dir


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
