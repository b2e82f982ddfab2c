"""What a process the app starts inherits: a minimal environment plus what its entry names.

One rule for every child (MCP tool servers today): the variables a program needs to run and to
find its files and language, nothing else from the app's own environment (so never
``ANTHROPIC_API_KEY``, a proxy password or a cloud token), then exactly what the user wrote in
the server's ``env`` block. A key reaches a child only when the user names it there.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

POSIX = ("HOME", "LOGNAME", "USER", "PATH", "SHELL", "TERM", "LANG", "LANGUAGE", "TMPDIR", "TZ")
WINDOWS = (
    "APPDATA", "HOMEDRIVE", "HOMEPATH", "LOCALAPPDATA", "PATH", "PATHEXT", "SYSTEMDRIVE",
    "SYSTEMROOT", "TEMP", "TMP", "USERNAME", "USERPROFILE", "PROCESSOR_ARCHITECTURE",
)  # fmt: skip
INHERITED = WINDOWS if sys.platform == "win32" else POSIX


def inherited(name: str) -> bool:
    """Whether a variable of the app's environment passes to a child: the list above and the
    locale's ``LC_*`` settings."""
    return name in INHERITED or name.startswith("LC_")


def child_environment(
    named: Mapping[str, str] = (), parent: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The whole environment of a child process: the inherited few, then ``named``."""
    source = os.environ if parent is None else parent
    env = {k: v for k, v in source.items() if inherited(k) and not v.startswith("()")}
    env.update(dict(named))
    return env
