"""How the pane writes what server tools and citations bring (Qt-free): a web search's query and
results, a fetched page, their errors, a text's sources, and a mid-conversation instruction's
tool changes. Everything the web or the model wrote goes through ``literal``; only http(s)
addresses become links (the pane's browser refuses any other)."""

from __future__ import annotations

from urllib.parse import quote

from app.conversation.blocks import RawBlock, TextBlock
from app.ui.widgets.untrusted import literal

# What may stay as it is in a link's address; everything else (white space and line breaks,
# brackets, parentheses, angle brackets, backslashes, backticks, quotes) is percent-encoded, so
# an address can neither end the link early nor start a reference-style image on a new line.
URL_SAFE = "-._~:/?#@$&+,;=%"


def link(url: str, title: str = "") -> str:
    """A link to an http(s) address, titled with ``title`` shown as written; other addresses
    are shown as text only."""
    url = url if isinstance(url, str) else ""
    title = title if isinstance(title, str) else ""
    shown = literal(title or url, 120)
    if not url.startswith(("https://", "http://")):
        return shown
    return f"[{shown}]({quote(url, safe=URL_SAFE)})"


def raw_block_text(block: RawBlock) -> str:
    data = block.data
    kind = block.kind
    if kind == "server_tool_use":
        args = data.get("input") or {}
        what = args.get("query") or args.get("url") or ""
        return f"*{literal(data.get('name', 'server tool'))}:* {literal(str(what), 200)}"
    if kind in ("web_search_tool_result", "web_fetch_tool_result"):
        content = data.get("content")
        name = "web search" if kind.startswith("web_search") else "web fetch"
        if isinstance(content, dict) and "error_code" in content:
            return f"*{name} failed:* {literal(str(content['error_code']))}"
        if isinstance(content, list):
            if not content:
                return f"*{name}:* no results"
            lines = [
                f"{i}. {link(r.get('url', ''), r.get('title', ''))}"
                + (f" · {literal(r['page_age'])}" if r.get("page_age") else "")
                for i, r in enumerate(content, 1)
                if isinstance(r, dict)
            ]
            return f"*{name}, {len(lines)} results:*\n\n" + "\n".join(lines)
        if isinstance(content, dict):
            document = content.get("content") or {}
            size = len(str((document.get("source") or {}).get("data", "")))
            title = document.get("title") or content.get("url", "")
            return f"*fetched:* {link(content.get('url', ''), title)} · {size:,} characters"
        return f"*{name}*"
    if kind == "redacted_thinking":
        return "*(thinking, encrypted by the API)*"
    if kind in ("tool_addition", "tool_removal"):
        name = (data.get("tool") or {}).get("name", "")
        verb = "offered" if kind == "tool_addition" else "withdrawn"
        return f"*tool {literal(name)} {verb} from here on*"
    return f"*{literal(kind)}*"


def sources(block: TextBlock) -> str:
    """The sources a text cites, one line ("" when it cites none)."""
    seen = []
    for citation in block.citations:
        label = citation.get("title") or citation.get("document_title") or ""
        entry = link(citation.get("url", ""), label) if citation.get("url") else literal(label)
        if entry and entry not in seen:
            seen.append(entry)
    return ("*Sources:* " + " · ".join(seen)) if seen else ""
