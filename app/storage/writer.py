"""One worker thread that runs the store's calls in the order they were made, so the GUI thread
never waits for the disk."""

from __future__ import annotations

import asyncio
from concurrent.futures import Future, ThreadPoolExecutor

from app.storage.store import Store


class Writer:
    def __init__(self, store: Store):
        self.store = store
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="cachescope-store")

    def submit(self, method: str, *args) -> Future:
        """Queue ``store.<method>(*args)``; calls run one at a time, in order."""
        return self._executor.submit(getattr(self.store, method), *args)

    async def run(self, method: str, *args):
        return await asyncio.wrap_future(self.submit(method, *args))

    async def flush(self) -> None:
        """Wait until everything queued so far has run (errors are the callers' to see)."""
        marker = self._executor.submit(lambda: None)
        await asyncio.wrap_future(marker)

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self.store.close()
