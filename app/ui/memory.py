"""Keeping Python's cycle collector out of the way of the window.

A full collection walks every tracked object: with a 1,000-message conversation open (~230,000
objects) one took 208 ms, in the middle of a scroll. What the app holds for long (the modules,
the open conversation) is moved out of the collector's sight once it is loaded; objects freed by
reference counting are freed as before, and new objects are collected as before.
"""

from __future__ import annotations

import gc


def settle_memory() -> None:
    """Leave what exists now out of later full collections (a collection first would itself
    take as long as the stall this avoids)."""
    gc.freeze()
