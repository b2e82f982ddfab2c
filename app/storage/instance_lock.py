"""One Cachescope per data folder.

Two processes writing one history would each save the conversation as it knows it and delete
the other's turns. A lock on a file in the data folder (held for the life of the process, and
released by the system if the process dies) lets the second one say so and stop instead.
"""

from __future__ import annotations

import os
from pathlib import Path

LOCK_NAME = "cachescope.lock"


class AlreadyRunning(Exception):
    def __init__(self, folder: Path):
        super().__init__(
            f"Cachescope is already running with the data folder {folder}. Switch to that "
            "window, or start this one with --data-dir pointing at another folder."
        )


class InstanceLock:
    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self._fd: int | None = None

    def acquire(self) -> InstanceLock:
        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            _lock(fd)
        except OSError:
            os.close(fd)
            raise AlreadyRunning(self.folder) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the lock
            self._fd = None


def _lock(fd: int) -> None:
    if os.name == "nt":
        import msvcrt

        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    else:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
