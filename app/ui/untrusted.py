"""The one path by which text from a model, a tool or a file reaches the conversation pane.

Markdown is rendered by Qt with raw HTML off, but markdown itself can still ask for a resource:
an image (``![x](/path)``) makes Qt's importer read the file while it builds the fragment,
before any view-level guard sees it. So nothing untrusted goes into the markdown unescaped:

- ``literal`` shows text exactly as it is (tool names, tool input and results, file names,
  titles): every ASCII punctuation character is backslash-escaped (CommonMark), so no markup,
  link, image or code span can begin, and control characters are dropped;
- ``prose`` keeps a model's markdown (emphasis, lists, tables, code) and disarms what can load
  something: the ``!`` that starts an image becomes the entity ``&#33;``, which shows as "!" but
  never starts an image, whatever backslashes precede it (a backslash escape would not do:
  ``\\![x](/p)`` is an escaped backslash followed by an image). Fenced code is left as it is
  (nothing loads inside it). Links stay links, which open only for http/https after the user
  confirms (see ``SafeBrowser``).
"""

from __future__ import annotations

import re
import string

PUNCTUATION = frozenset(string.punctuation)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
IMAGE_START = re.compile(r"!(?=\s*\[)")
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})", re.M)


def literal(text: str, limit: int | None = None) -> str:
    """``text`` as plain characters in markdown (one line per line, nothing interpreted)."""
    if limit is not None and len(text) > limit:
        text = text[:limit] + "…"
    text = CONTROL.sub("", text)
    return "".join("\\" + ch if ch in PUNCTUATION else ch for ch in text)


def prose(text: str) -> str:
    """A model's markdown with every image disarmed; fenced code kept as written."""
    text = CONTROL.sub("", text)
    out, inside, fence, last = [], False, "", 0
    for match in FENCE.finditer(text):
        marker = match.group(1)
        if not inside:
            out.append(IMAGE_START.sub("&#33;", text[last : match.start()]))
            inside, fence, last = True, marker[0] * 3, match.start()
        elif marker.startswith(fence):
            end = text.find("\n", match.end())
            end = len(text) if end < 0 else end
            out.append(text[last:end])
            inside, last = False, end
    tail = text[last:]
    out.append(tail if inside else IMAGE_START.sub("&#33;", tail))
    return "".join(out)
