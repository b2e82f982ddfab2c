"""Storage work runs on the writer thread with typed calls; results and failures come back on the
event loop's thread; what is saved is what the conversation was when it was handed over."""

import asyncio
import threading

import pytest

from app.conversation.conversation import Conversation
from app.engine.engine import Engine, EngineSettings
from app.engine.session import Session
from app.history.recorder import Recorder
from app.storage.store import StorageError, Store
from app.storage.writer import StoreOp, Writer
from tests.helpers import SONNET_46


@pytest.fixture
def writer(tmp_path):
    writer = Writer(Store.open(tmp_path))
    yield writer
    writer.close()


def hold(writer: Writer) -> threading.Event:
    """Keep the writer thread busy until the returned event is set."""
    gate = threading.Event()
    writer.submit(lambda _store: gate.wait(5))
    return gate


def test_a_title_changed_after_saving_was_queued_is_not_what_that_save_writes(writer):
    conv = Conversation(model=SONNET_46, title="Lease review")
    conv.add_user_text("Read the lease.")
    recorder = Recorder(writer, Engine(None, EngineSettings(warming=False)), Session(conv))

    async def save_then_edit():
        gate = hold(writer)
        recorder.sync()
        conv.title = "edited on the GUI thread while the disk was busy"
        conv.model = "claude-opus-4-6"
        gate.set()
        await writer.flush()

    asyncio.run(save_then_edit())
    (row,) = writer.store.conversations()
    assert (row.title, writer.store.load(conv.id)[0].model) == ("Lease review", SONNET_46)


def test_an_ops_handlers_run_on_the_loops_thread_with_the_result_or_a_storage_error(writer):
    conv = Conversation(model=SONNET_46, title="t")
    conv.add_user_text("hello")
    writer.store.save_conversation(conv)
    loop_thread = threading.get_ident()
    seen: list[tuple[str, object, int]] = []

    async def two_ops():
        done = asyncio.Event()

        def record(kind):
            def handler(value):
                seen.append((kind, value, threading.get_ident()))
                if len(seen) == 2:
                    done.set()

            return handler

        gate = hold(writer)  # both finish on the writer thread while the loop waits
        for op in (StoreOp(Store.ids), StoreOp(Store.load, "c_missing")):
            op.success(record("ok")).failure(record("failed")).run_in_background(writer)
        gate.set()
        await asyncio.wait_for(done.wait(), 5)

    asyncio.run(two_ops())
    assert seen[0] == ("ok", {conv.id}, loop_thread)
    kind, error, thread = seen[1]
    assert kind == "failed" and isinstance(error, StorageError) and thread == loop_thread
    assert str(error)  # a sentence the user can read


def test_a_failing_op_without_a_handler_is_logged_not_lost(writer, caplog):
    async def unhandled():
        future = StoreOp(Store.load, "c_missing").run_in_background(writer)
        await writer.flush()
        assert future.exception() is not None
        await asyncio.sleep(0.05)  # the report is scheduled on the loop

    asyncio.run(unhandled())
    assert "load failed: No conversation c_missing" in caplog.text
