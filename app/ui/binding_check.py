"""Refuse to run on a Qt binding that drains ``None``'s reference count.

PySide6 6.12.0 returns ``None`` without a reference from every void method and from every unset
``QVariant``. Python 3.12 and later make ``None`` immortal, so nothing happens there; on Python
3.11 each call takes one reference, and after a few thousand (turn 83 of an ordinary session)
the interpreter aborts with ``Fatal Python error: none_dealloc``. pyproject.toml keeps such a
binding out of a normal install; this check catches one installed by hand, before any window
opens, with a sentence that says what to do.
"""

from __future__ import annotations

import gc
import sys

PROBE_CALLS = 1000


def none_references_lost(calls: int = PROBE_CALLS) -> int:
    """How many references to None ``calls`` void calls into Qt take away (0 when sound)."""
    from PySide6.QtGui import QTextCharFormat

    probe = QTextCharFormat()
    gc.collect()
    before = sys.getrefcount(None)
    for _ in range(calls):
        probe.setFontItalic(True)
    gc.collect()
    return before - sys.getrefcount(None)


def binding_problem(lost: int, calls: int = PROBE_CALLS, python=sys.version_info) -> str | None:
    """A message for the user when the binding would abort this interpreter, else None."""
    if python >= (3, 12) or lost < calls // 2:
        return None
    import PySide6

    return (
        f"PySide6 {PySide6.__version__} loses a reference to None on every call into Qt, and "
        f"Python {python[0]}.{python[1]} aborts after a few thousand of them. Install a sound "
        "version with: pip install 'PySide6-Essentials>=6.6,<6.12' (or run on Python 3.12 or "
        "later)."
    )
