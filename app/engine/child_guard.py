"""A tool server the app starts ends with the app, even when the app cannot stop it.

On a quit, a signal or a crash the app stops its MCP servers itself (stdin closed, then SIGTERM
and SIGKILL to the server's process group, the MCP SDK's order). What it cannot do is stop them
when it is killed outright (``kill -9``, the out-of-memory killer): a server that does not read
its stdin then ran on for ever. On Linux the server is therefore started through a small guard
that asks the kernel to send it ``SIGKILL`` when the app dies (``PR_SET_PDEATHSIG``) and then
becomes the server (``execvp``: the same process, the same pid and group, nothing in between).
The signal comes when the thread that started the server ends: that is the MCP hub's own thread,
which lives until every server is stopped. macOS and Windows have no such call: there a server
still gets end-of-file on its stdin and the SDK's own process group (POSIX) or Job Object
(Windows) when the app stops it.

    python -S -c CODE PARENT_PID COMMAND ARG...     (a frozen app: APP --child-guard ...)
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
from pathlib import Path

GUARD_FLAG = "--child-guard"
PR_SET_PDEATHSIG = 1
NOT_FOUND = 127  # what a shell answers for a command it cannot find


def available(platform: str = sys.platform) -> bool:
    return platform.startswith("linux")


def guarded(command: str, args: list[str], env: dict[str, str]) -> tuple[str, list[str]]:
    """The command and arguments that start ``command`` under the guard (as given where the
    platform has no guard: the SDK finds the command there). ``FileNotFoundError`` when
    ``command`` cannot be found on the ``PATH`` the server gets, as starting it directly
    would say (the guard itself is always found)."""
    if not available():
        return command, list(args)
    if shutil.which(command, path=env.get("PATH", os.defpath)) is None:
        raise FileNotFoundError(command)
    parent = str(os.getpid())
    if getattr(sys, "frozen", False):  # the bundle's executable takes the flag (app/__main__)
        return sys.executable, [GUARD_FLAG, parent, command, *args]
    here = str(Path(__file__).resolve().parents[2])
    code = f"import sys; sys.path.insert(0, {here!r}); import app.engine.child_guard as g; g.run()"
    return sys.executable, ["-S", "-c", code, parent, command, *args]


def run(argv: list[str] | None = None) -> None:
    """In the guard process: ``PARENT_PID COMMAND ARG...``. Never returns."""
    argv = sys.argv[1:] if argv is None else argv
    parent, command, args = int(argv[0]), argv[1], argv[2:]
    _die_with_parent()
    if os.getppid() != parent:  # the app died before the kernel was asked: end now
        os._exit(0)
    try:
        os.execvp(command, [command, *args])
    except OSError as exc:
        sys.stderr.write(f"could not start {command}: {exc.strerror or exc}\n")
        sys.stderr.flush()
        os._exit(NOT_FOUND)


def _die_with_parent() -> None:
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # no prctl: the server is started all the same
        pass
