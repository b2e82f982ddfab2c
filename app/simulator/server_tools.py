"""Web search and web fetch in the simulator: canned, deterministic results in the API's shapes
(web-search-tool.md, web-fetch-tool.md): a ``server_tool_use`` block, its result block, and a
text block citing it. A search runs when the last user text asks to search (or look up); a fetch
when it holds a URL. A URL on a host ending in ``.invalid`` fails as the API's
``url_not_accessible``; more uses than ``max_uses`` fail as ``max_uses_exceeded``."""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass

from app.facts.tokens import text_tokens

SEARCH_WORDS = re.compile(r"\b(search|look up|google)\b", re.I)
URL = re.compile(r"https?://[^\s<>\"')\]]+")
RETRIEVED_AT = "2026-11-01T12:00:00Z"


@dataclass(frozen=True)
class ServerUse:
    blocks: tuple[dict, ...]
    searches: int
    fetches: int
    input_tokens: int  # what the results add to the prompt (billed as input)


def _tool(body: dict, prefix: str) -> dict | None:
    return next(
        (t for t in body.get("tools") or [] if str(t.get("type", "")).startswith(prefix)), None
    )


def _id(*parts: str) -> str:
    return "srvtoolu_sim_" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:20]


def _opaque(text: str) -> str:
    """What stands for the API's encrypted_content / encrypted_index: stable, opaque bytes."""
    return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode("ascii")


def _search(query: str, tool: dict, seed: str) -> list[dict]:
    use_id = _id("search", seed, query)
    slug = re.sub(r"[^a-z0-9]+", "-", query.lower()).strip("-")[:40] or "query"
    results = [
        {
            "type": "web_search_result",
            "url": f"https://{site}/{slug}",
            "title": f"{title}: {query[:60]}",
            "encrypted_content": _opaque(f"{site}|{query}"),
            "page_age": "November 1, 2026",
        }
        for site, title in (
            ("en.wikipedia.org/wiki", "Encyclopedia"),
            ("docs.example.com", "Reference"),
            ("news.example.org", "News"),
        )
    ]
    first = results[0]
    return [
        {"type": "text", "text": "I'll search the web for that."},
        {"type": "server_tool_use", "id": use_id, "name": "web_search", "input": {"query": query}},
        {"type": "web_search_tool_result", "tool_use_id": use_id, "content": results},
        {
            "type": "text",
            "text": f"The top result is {first['title']}.",
            "citations": [
                {
                    "type": "web_search_result_location",
                    "url": first["url"],
                    "title": first["title"],
                    "encrypted_index": _opaque("index|" + first["url"]),
                    "cited_text": f"Canned search result for \u201c{query[:100]}\u201d.",
                }
            ],
        },
    ]


def _fetch(url: str, seed: str) -> list[dict]:
    use_id = _id("fetch", seed, url)
    call = {"type": "server_tool_use", "id": use_id, "name": "web_fetch", "input": {"url": url}}
    host = url.split("/")[2].split(":")[0] if url.count("/") >= 2 else ""
    if host.endswith(".invalid") or not host:
        error = {"type": "web_fetch_tool_result_error", "error_code": "url_not_accessible"}
        result = {"type": "web_fetch_tool_result", "tool_use_id": use_id, "content": error}
        said = {"type": "text", "text": f"I could not fetch {url} (url_not_accessible)."}
        return [call, result, said]
    page = (
        f"Canned page for {url}. The simulator does not reach the web; this text stands in "
        "for the page's content so that the turn has the API's shapes and costs."
    )
    document = {
        "type": "document",
        "source": {"type": "text", "media_type": "text/plain", "data": page},
        "title": f"Page at {host}",
        "citations": {"enabled": True},
    }
    fetched = {
        "type": "web_fetch_result",
        "url": url,
        "content": document,
        "retrieved_at": RETRIEVED_AT,
    }
    cited = page.split(". ")[0] + "."
    return [
        call,
        {"type": "web_fetch_tool_result", "tool_use_id": use_id, "content": fetched},
        {
            "type": "text",
            "text": f"The page at {host} says it is a canned page.",
            "citations": [
                {
                    "type": "char_location",
                    "document_index": 0,
                    "document_title": document["title"],
                    "start_char_index": 0,
                    "end_char_index": len(cited),
                    "cited_text": cited,
                }
            ],
        },
    ]


def _max_uses_error(kind: str, use_id: str) -> dict:
    return {
        "type": f"{kind}_tool_result",
        "tool_use_id": use_id,
        "content": {"type": f"{kind}_tool_result_error", "error_code": "max_uses_exceeded"},
    }


def server_uses(body: dict, question: str) -> ServerUse | None:
    """The server tool blocks this request's reply begins with (None: no server tool runs)."""
    search, fetch = _tool(body, "web_search_"), _tool(body, "web_fetch_")
    seed = str(len(body.get("messages") or []))
    blocks: list[dict] = []
    searches = fetches = 0
    if search is not None and SEARCH_WORDS.search(question):
        query = SEARCH_WORDS.split(question, 1)[-1].strip(" :,.?!\n\t") or question[:80]
        if search.get("max_uses", 1) >= 1:
            blocks += _search(query[:200], search, seed)
            searches = 1
        else:
            use_id = _id("search", seed, query)
            call = {"type": "server_tool_use", "id": use_id, "name": "web_search"}
            blocks += [{**call, "input": {"query": query}}, _max_uses_error("web_search", use_id)]
    if fetch is not None:
        for url in URL.findall(question)[: max(0, int(fetch.get("max_uses", 5)))]:
            fetched = _fetch(url.rstrip(".,;:"), seed)
            blocks += fetched
            fetches += "error_code" not in str(fetched[1]["content"])  # errors are not billed
    if not blocks:
        return None
    results = [b for b in blocks if b["type"].endswith("_tool_result")]
    tokens = sum(text_tokens(str(b.get("content"))) for b in results)
    return ServerUse(tuple(blocks), searches, fetches, tokens)
