"""The one path by which text from a model, a tool or a file reaches the conversation pane.

Markdown is rendered by Qt with raw HTML off, but markdown itself can still ask for a resource:
an image (``![x](/path)``) makes Qt's importer read the file while it builds the fragment,
before any view-level guard sees it. So nothing untrusted goes into the markdown unescaped:

- ``literal`` shows text exactly as it is (tool names, tool input and results, file names,
  titles): every ASCII punctuation character is backslash-escaped (CommonMark), so no markup,
  link, image or code span can begin, and control characters are dropped;
- ``prose`` keeps a model's markdown (emphasis, lists, tables, code) and disarms what can load
  something: a zero-width space goes between every ``!`` and the ``[`` after it, everywhere
  (code included), so no image can start, whatever backslashes precede it (a backslash escape
  would not do: ``\\![x](/p)`` is an escaped backslash followed by an image). It shows exactly as
  written, and copying removes it (``unbreak``). No attempt is made to tell fenced code from
  prose: a fence the importer reads differently (a backtick in the info string, a fence inside
  a list item) must not be a way around the guard. Links stay links, which open only for
  http/https after the user confirms (see ``SafeBrowser``).

Both also make long unbroken runs breakable: Qt lays out a run with no break opportunity in
time quadratic in its length when it has to wrap it (200,000 characters: 2 s; 1,000,000: 53 s),
so any run longer than ``LONG_RUN`` characters gets a zero-width space every ``RUN_PIECE``
characters. The view removes them again from whatever is copied (``unbreak``).
"""

from __future__ import annotations

import re
import string

PUNCTUATION = frozenset(string.punctuation)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
IMAGE_START = re.compile(r"!(?=\s*\[)")  # "!" before "[": an image could start
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})", re.M)  # roughly: where fenced code opens or closes
ZWSP = "\u200b"
LONG_RUN = 1000
RUN_PIECE = 500
RUN = re.compile(rf"(?<!\S)\S{{{LONG_RUN + 1},}}")  # from a run's start: no backtracking


def breakable(text: str) -> str:
    """``text`` with a zero-width space every ``RUN_PIECE`` characters of any over-long run."""
    return RUN.sub(
        lambda m: ZWSP.join(
            m.group()[i : i + RUN_PIECE] for i in range(0, len(m.group()), RUN_PIECE)
        ),
        text,
    )


def unbreak(text: str) -> str:
    """What the user copies: the text without the break points ``breakable`` added."""
    return text.replace(ZWSP, "")


def literal(text: str, limit: int | None = None) -> str:
    """``text`` as plain characters in markdown (one line per line, nothing interpreted)."""
    if limit is not None and len(text) > limit:
        text = text[:limit] + "…"
    text = breakable(CONTROL.sub("", text))  # before escaping: a break never splits an escape
    return "".join("\\" + ch if ch in PUNCTUATION else ch for ch in text)


def prose(text: str) -> str:
    """A model's markdown with every image disarmed, shown as written."""
    return IMAGE_START.sub("!" + ZWSP, breakable(CONTROL.sub("", text)))
