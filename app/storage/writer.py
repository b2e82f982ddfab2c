"""One worker thread that runs the store's calls in the order they were made, so the GUI thread
never waits for the disk.

Work is named by the store's own methods (``writer.submit(Store.rename, cid, title)``), never by
strings, and is handed values, never live objects the GUI thread may still change: a
conversation goes as its ``header()``, messages are immutable, records go as dicts.
``StoreOp`` adds the success and failure handlers, which run on the event loop's thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Concatenate, Generic, ParamSpec, TypeVar

from app.storage.store import StorageError, Store

log = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")


class Writer:
    def __init__(self, store: Store):
        self.store = store
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="cachescope-store")

    def submit(
        self, call: Callable[Concatenate[Store, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> Future[T]:
        """Queue ``call(store, *args)``; calls run one at a time, in order."""
        return self._executor.submit(call, self.store, *args, **kwargs)

    async def run(
        self, call: Callable[Concatenate[Store, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        return await asyncio.wrap_future(self.submit(call, *args, **kwargs))

    async def flush(self) -> None:
        """Wait until everything queued so far has run (errors are the callers' to see)."""
        marker = self._executor.submit(lambda: None)
        await asyncio.wrap_future(marker)

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self.store.close()


def as_storage_error(error: BaseException) -> StorageError:
    if isinstance(error, StorageError):
        return error
    return StorageError("other", f"The history could not be saved: {error}")


class StoreOp(Generic[T]):
    """A store call with what to do after it, in the spirit of Anki's ``CollectionOp``::

        StoreOp(Store.rename, cid, title).success(refresh).failure(show).run_in_background(writer)

    The handlers run on the thread of the event loop that was running when the op was started
    (the GUI thread), never on the writer's. A failure without a handler is logged.
    """

    def __init__(self, call: Callable[Concatenate[Store, P], T], *args: P.args, **kwargs: P.kwargs):
        self._work = lambda store: call(store, *args, **kwargs)
        self.name = getattr(call, "__name__", "store call")
        self._on_success: Callable[[T], object] | None = None
        self._on_failure: Callable[[StorageError], object] | None = None

    def success(self, handler: Callable[[T], object]) -> StoreOp[T]:
        self._on_success = handler
        return self

    def failure(self, handler: Callable[[StorageError], object]) -> StoreOp[T]:
        self._on_failure = handler
        return self

    def run_in_background(self, writer: Writer) -> Future[T]:
        future = writer.submit(self._work)
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None

        def report(done: Future[T]) -> None:
            if loop is None:
                self._finish(done)
            elif not loop.is_closed():  # one that ends after the app's loop: nobody to tell
                loop.call_soon_threadsafe(self._finish, done)

        future.add_done_callback(report)
        return future

    def _finish(self, done: Future[T]) -> None:
        error = done.exception()
        if error is None:
            if self._on_success is not None:
                self._on_success(done.result())
        elif self._on_failure is not None:
            self._on_failure(as_storage_error(error))
        else:
            log.warning("%s failed: %s", self.name, error)
