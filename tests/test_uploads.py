"""Large documents go through the Files API once per workspace, are sent by file_id from their
first request on (so the prefix never changes), survive a deleted file, and fall back to inline
when an upload fails."""

import asyncio
import json
from dataclasses import replace

import anthropic
import pytest

from app.conversation.blocks import DocumentBlock
from app.conversation.documents import LockedDocument, document_from_text
from app.engine import events as ev
from app.engine.engine import EngineSettings
from app.engine.session import Session
from app.engine.uploads import documents_of, without_file_refs
from app.storage.store import Store
from app.storage.uploads import forget_upload, save_upload, saved_uploads
from tests.helpers import Harness, conversation
from tests.test_sim_wire import make_pdf

MIN = 5_000  # bytes: the tests' threshold (the app's default is 1 MB)


def settings():
    return EngineSettings(warming=False, upload_min_bytes=MIN)


def contract() -> LockedDocument:
    return LockedDocument.from_bytes(make_pdf(12), "application/pdf", "contract.pdf")


def notes() -> LockedDocument:
    return document_from_text("clause and counter-clause. " * 2000, "notes.txt")


def sources(built) -> list[dict]:
    return [
        block["source"]
        for message in built.body["messages"]
        for block in message["content"]
        if block.get("type") == "document"
    ]


def run(coro):
    return asyncio.run(coro)


def test_a_large_document_is_uploaded_once_and_sent_by_file_id_from_its_first_turn(sim):
    pdf, text, small = contract(), notes(), document_from_text("a short memo", "memo.txt")
    assert pdf.size_bytes >= MIN and text.size_bytes >= MIN and small.size_bytes < MIN

    async def scenario():
        h = Harness(sim.base_url, settings())
        session = Session(conversation())
        session.conversation.add_user_text("Read these.", pdf, text, small)
        await h.engine.start_turn(session)
        first = session.last_turn
        session.conversation.add_user_text("And the penalties?")
        await h.engine.start_turn(session)
        listed = [f async for f in h.client.files.list()]
        await h.client.close()
        return h, session, first, listed

    h, session, first, listed = run(scenario())
    kinds = [s["type"] for s in sources(first)]
    assert kinds == ["file", "file", "text"]  # the memo is small: inline
    assert sorted(f.filename for f in listed) == ["contract.pdf", "notes.txt"]  # once each
    progress = [e for e in h.of(ev.UploadProgress) if e.name == "contract.pdf"]
    assert progress[0].sent == 0 and progress[-1].sent == progress[-1].total == pdf.size_bytes
    done = h.of(ev.UploadFinished)
    assert sorted(e.name for e in done) == ["contract.pdf", "notes.txt"]
    assert all(e.upload is not None and e.upload.file_id == e.file_id for e in done)
    one, two = [r for r in session.totals.records if r.kind == "turn"]
    assert one.usage.read == 0 and two.usage.read >= one.usage.write > pdf.tokens + text.tokens
    assert one.predicted == one.usage and two.predicted == two.usage  # the app counts files right


def test_the_history_remembers_uploads_so_a_new_session_does_not_upload_again(sim, tmp_path):
    pdf = contract()
    store = Store.open(tmp_path)

    async def session_with(h, known=()):
        h.engine.uploads.adopt(known)
        session = Session(conversation())
        session.conversation.add_user_text("Read it.", pdf)
        await h.engine.start_turn(session)
        return session

    async def scenario():
        first = Harness(sim.base_url, settings())
        await session_with(first)
        (finished,) = first.of(ev.UploadFinished)
        save_upload(store, finished.upload)
        await first.client.close()
        again = Harness(sim.base_url, settings())  # the same endpoint and key: a new launch
        session = await session_with(again, saved_uploads(store))
        other = Harness(sim.base_url, settings())
        other.client = other.client.with_options(api_key="another workspace's key")
        other.engine.client = other.client
        await session_with(other, saved_uploads(store))
        for h in (again, other):
            await h.client.close()
        return finished, again, other, session

    finished, again, other, session = run(scenario())
    assert again.of(ev.UploadFinished) == []
    assert sources(session.last_turn) == [{"type": "file", "file_id": finished.file_id}]
    (elsewhere,) = other.of(ev.UploadFinished)  # another workspace cannot use that file
    assert elsewhere.file_id and elsewhere.file_id != finished.file_id
    forget_upload(store, finished.upload.place, finished.file_id)
    assert saved_uploads(store) == []
    store.close()


def test_a_file_deleted_from_the_workspace_is_uploaded_again_and_the_turn_goes_through(sim):
    async def scenario():
        h = Harness(sim.base_url, settings())
        session = Session(conversation())
        session.conversation.add_user_text("Read it.", notes())
        await h.engine.start_turn(session)
        (first,) = h.of(ev.UploadFinished)
        await h.client.files.delete(first.file_id)  # elsewhere, or expired
        session.conversation.add_user_text("Again?")
        reply = await h.engine.start_turn(session)
        await h.client.close()
        return h, session, first, reply

    h, session, first, reply = run(scenario())
    second = h.of(ev.UploadFinished)[-1]
    assert reply is not None and h.of(ev.Failed) == []
    assert second.file_id != first.file_id
    assert sources(session.last_turn) == [{"type": "file", "file_id": second.file_id}]
    failed = [r for r in session.totals.records if r.error]
    assert len(failed) == 1 and first.file_id in failed[0].error  # on the record, with why


def test_an_upload_that_fails_sends_the_document_inline_and_loses_nothing(sim, monkeypatch):
    async def scenario():
        h = Harness(sim.base_url, settings())

        async def refused(**_):
            raise anthropic.APIConnectionError(request=None)

        monkeypatch.setattr(h.client.files, "upload", refused)
        session = Session(conversation())
        session.conversation.add_user_text("Read it.", notes())
        reply = await h.engine.start_turn(session)
        await h.client.close()
        return h, session, reply

    h, session, reply = run(scenario())
    (failed,) = h.of(ev.UploadFinished)
    assert failed.file_id == "" and failed.error and ev.status_text(failed).endswith("inline.")
    assert reply is not None and [s["type"] for s in sources(session.last_turn)] == ["text"]


def test_a_stalled_upload_gives_up_on_its_own_limit_and_the_next_send_uploads_afresh(sim):
    """Issue 25, point 9: a stalled Files API held every send 300 s, also after it recovered."""

    async def scenario():
        h = Harness(sim.base_url, replace(settings(), upload_floor_s=0.5, upload_wait_s=300))
        real, calls = h.client.files.upload, []

        async def stalls_once(**kwargs):
            calls.append(kwargs.get("timeout"))
            if len(calls) == 1:
                await asyncio.sleep(3600)  # the endpoint stalls
            return await real(**kwargs)

        h.client.files.upload = stalls_once
        session = Session(conversation())
        session.conversation.add_user_text("Read it.", notes())
        started = asyncio.get_running_loop().time()
        await h.engine.start_turn(session)
        first = (asyncio.get_running_loop().time() - started, sources(session.last_turn))
        session.conversation.add_user_text("And again.")
        started = asyncio.get_running_loop().time()
        await h.engine.start_turn(session)
        second = (asyncio.get_running_loop().time() - started, sources(session.last_turn))
        await h.client.close()
        return h, first, second, calls

    h, (first_s, first), (second_s, second), calls = run(scenario())
    assert first_s < 5 and [s["type"] for s in first] == ["text"]  # inline, not 300 s later
    failed, done = h.of(ev.UploadFinished)
    assert "did not finish in 1 s" in ev.status_text(failed)
    assert done.file_id and [s["type"] for s in second] == ["file"] and second_s < 5
    assert len(calls) == 2 and calls[0] is not None  # the request itself carries the limit


def test_a_warm_up_waits_for_the_draft_attachments_upload_then_warms_what_the_send_sends(sim):
    async def scenario():
        h = Harness(sim.base_url, EngineSettings(warming=True, upload_min_bytes=MIN))
        session = Session(conversation())
        pdf = contract()
        warms = []
        h.engine.subscribe(  # as the window does: the upload landed, warm now
            lambda e: (
                isinstance(e, ev.UploadFinished)
                and warms.append(h.engine.drafts.activity(session, (pdf,)))
            )
        )
        first = h.engine.drafts.activity(session, (pdf,))
        skipped = [e.reason for e in h.of(ev.WarmSkipped)]
        while not warms:
            await asyncio.sleep(0.01)
        (warm,) = warms
        assert warm is not None, [e.reason for e in h.of(ev.WarmSkipped)]
        await warm
        session.conversation.add_user_text("Summarise it.", pdf)
        await h.engine.start_turn(session)
        await h.client.close()
        return session, first, skipped

    session, first, skipped = run(scenario())
    assert first is None and skipped == ["uploading contract.pdf first"]
    warm, turn = session.totals.records
    assert warm.kind == "warm" and warm.usage.write > 0
    assert turn.usage.read >= warm.usage.write  # the warm-up wrote the file-referenced prefix


def test_an_imported_conversation_never_sends_the_file_ids_it_came_with():
    conv = conversation()
    conv.add_user_text("Read it.", notes())
    message = conv.messages[-1]
    blocks = tuple(
        DocumentBlock(b.document, "file_someone_elses") if isinstance(b, DocumentBlock) else b
        for b in message.blocks
    )
    conv.replace_message(0, replace(message, blocks=blocks))
    without_file_refs(conv)
    assert [b.file_id for b in documents_of(conv.messages)] == [""]


class FilesApiRefuses:
    """A local Files API that refuses every upload with this status and error, as the API (or a
    gateway in front of it) words it."""

    def __init__(self, status: int, kind: str, message: str):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        body = json.dumps({"type": "error", "error": {"type": kind, "message": message}}).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("content-length") or 0))
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base_url = f"http://127.0.0.1:{self.server.server_port}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize(
    ("status", "kind", "words", "says", "never"),
    [
        (413, "request_too_large", "Workspace storage quota exceeded", "Uploaded files", "500 MB"),
        (400, "invalid_request_error", "Storage limit exceeded", "Uploaded files", "500 MB"),
        (413, "request_too_large", "File exceeds the 500 MB limit", "too large", "Uploaded"),
    ],
)
def test_a_refused_upload_says_what_the_files_api_said_and_what_to_do(
    sim, status, kind, words, says, never
):
    """Issue 40, point 5 (files.md, "Error handling"): a 413 "Workspace storage quota exceeded"
    was shown as "over its 500 MB limit"."""
    refusing = FilesApiRefuses(status, kind, words)

    async def scenario():
        h = Harness(sim.base_url, settings())
        files = anthropic.AsyncAnthropic(base_url=refusing.base_url, api_key="k", max_retries=0)
        h.client.files.upload = files.files.upload  # the turn itself goes to the simulator
        session = Session(conversation())
        session.conversation.add_user_text("Read it.", notes())
        reply = await h.engine.start_turn(session)
        await files.close()
        await h.client.close()
        return h, reply

    try:
        h, reply = run(scenario())
    finally:
        refusing.close()
    (failed,) = h.of(ev.UploadFinished)
    shown = ev.status_text(failed)
    assert words in shown and says in shown and never not in shown, shown
    assert shown.endswith("it is sent inline.") and reply is not None
