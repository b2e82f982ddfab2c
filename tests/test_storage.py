"""The history: SQLite round trips, search, migrations, export/import and failures."""

import asyncio
import json
import sqlite3

import anthropic
import pytest
from PIL import Image

from app.caching.builder import RequestBuilder
from app.caching.strategies import CacheSettings
from app.conversation.blocks import TextBlock, ToolResultBlock, ToolUseBlock
from app.conversation.conversation import Conversation
from app.conversation.images import lock_image
from app.engine.engine import Engine, EngineSettings
from app.engine.session import Session
from app.history.recorder import Recorder
from app.history.sessions import restore_session
from app.storage.export import ExportFileError, export_json, export_markdown, import_json
from app.storage.schema import MIGRATIONS, VERSION, migrate
from app.storage.store import DB_NAME, StorageError, Store
from app.storage.writer import Writer
from tests.helpers import SONNET_46, text_of


def sample(tmp_path) -> Conversation:
    Image.new("RGB", (640, 480), "orange").save(tmp_path / "photo.png")
    conv = Conversation(model=SONNET_46, title="Holiday photos")
    conv.set_system_text(text_of(1500, "system"))
    conv.add_user_text("what colour is this photo?", lock_image(tmp_path / "photo.png"))
    conv.add("assistant", TextBlock("It is orange."), ToolUseBlock.create("t1", "clock", {}))
    conv.add("user", ToolResultBlock("t1", (TextBlock("12:00"),)))
    conv.add("assistant", TextBlock("And it is noon."))
    return conv


def request_bytes(conv) -> bytes:
    return RequestBuilder().build(conv, "smart").json_bytes


def test_a_saved_conversation_loads_back_and_sends_the_same_bytes(tmp_path):
    conv = sample(tmp_path)
    store = Store.open(tmp_path)
    store.save_conversation(conv, {"entries": [], "expired": []})
    store.save_messages(conv.id, list(enumerate(conv.messages)), len(conv.messages))
    store.close()
    loaded, records, ledger = Store.open(tmp_path).load(conv.id)
    assert loaded.title == "Holiday photos" and records == [] and ledger["entries"] == []
    assert [m.id for m in loaded.messages] == [m.id for m in conv.messages]
    assert request_bytes(loaded) == request_bytes(conv)


def test_search_finds_words_in_old_messages_and_hides_deleted_ones(tmp_path):
    store = Store.open(tmp_path)
    old = sample(tmp_path)
    store.save_conversation(old)
    store.save_messages(old.id, list(enumerate(old.messages)))
    for i in range(30):
        conv = Conversation(model=SONNET_46, title=f"chat {i}")
        conv.add_user_text(f"filler message number {i} about nothing")
        store.save_conversation(conv)
        store.save_messages(conv.id, list(enumerate(conv.messages)))
    hits = store.search("orange")
    assert [(h.conversation_id, h.position) for h in hits] == [(old.id, 1)]
    assert "[orange]" in hits[0].snippet
    assert [h.position for h in store.search("colou")] == [0]  # the last word is a prefix
    assert store.search("noon orange") == []  # every word must match in one message
    assert store.search('"; DROP TABLE messages; --') == []
    store.delete(old.id)
    assert store.search("orange") == [] and old.id not in [c.id for c in store.conversations()]
    store.undelete(old.id)
    assert len(store.search("orange")) == 1
    store.delete(old.id)
    assert store.purge_deleted() == 1
    assert store.query("SELECT COUNT(*) FROM images")[0][0] == 0


def test_a_database_of_the_first_schema_version_is_migrated(tmp_path):
    path = tmp_path / DB_NAME
    conn = sqlite3.connect(path)
    assert migrate(conn, upto=1) == 1
    body = {
        "id": "m1",
        "role": "user",
        "created_at": 1.0,
        "blocks": [{"type": "text", "text": "an early message about lighthouses"}],
    }
    meta = Conversation(model=SONNET_46, id="c_old", title="From version one").meta_dict()
    conn.execute(
        "INSERT INTO conversations VALUES ('c_old', 'From version one', 1, 2, ?, ?, '{}')",
        (SONNET_46, json.dumps(meta)),
    )
    conn.execute(
        "INSERT INTO messages VALUES ('m1', 'c_old', 0, 'user', 1.0, 0, ?, ?)",
        (json.dumps(body), "an early message about lighthouses"),
    )
    conn.commit()
    conn.close()
    store = Store(path)
    assert store.version == VERSION == len(MIGRATIONS)
    assert [h.message_id for h in store.search("lighthouses")] == ["m1"]
    conv, _, _ = store.load("c_old")
    assert conv.messages[0].text == "an early message about lighthouses"
    assert [c.title for c in store.conversations()] == ["From version one"]


def test_a_database_from_a_newer_version_is_refused_plainly(tmp_path):
    conn = sqlite3.connect(tmp_path / DB_NAME)
    conn.execute(f"PRAGMA user_version = {VERSION + 1}")
    conn.close()
    with pytest.raises(StorageError, match="newer Cachescope"):
        Store.open(tmp_path)


def test_export_and_import_keep_requests_byte_identical(tmp_path):
    conv = sample(tmp_path)
    records = [{"id": "r1", "kind": "turn", "at": 1.0, "cost": [0.1, 0.2], "usage": {}}]
    export_json(conv, tmp_path / "out.json", records)
    again, kept = import_json(tmp_path / "out.json")
    assert request_bytes(again) == request_bytes(conv) and kept == records
    copy, _ = import_json(tmp_path / "out.json", taken_ids={conv.id})
    assert copy.id != conv.id and request_bytes(copy) == request_bytes(conv)
    (tmp_path / "bad.json").write_text('{"format": "something else"}')
    with pytest.raises(ExportFileError, match="not a Cachescope conversation export"):
        import_json(tmp_path / "bad.json")


def test_markdown_export_writes_images_as_files_beside_it(tmp_path):
    conv = sample(tmp_path)
    path = export_markdown(conv, tmp_path / "chat.md")
    text = path.read_text()
    (image,) = (tmp_path / "chat_images").iterdir()
    assert f"](chat_images/{image.name})" in text and "It is orange." in text
    assert image.read_bytes() == conv.messages[0].blocks[0].image.data


def test_markdown_export_names_every_attachment_and_fences_attached_and_pasted_text(tmp_path):
    """Issue 35.11: the Markdown export left documents out altogether and let attached text be
    read as Markdown. Each attachment is named; a PDF is written beside the export and linked;
    attached and pasted texts are fenced (with a fence longer than any inside them), so a parser
    gives them back exactly."""
    from markdown_it import MarkdownIt
    from pypdf import PdfWriter

    from app.conversation.documents import document_from_text, lock_document

    notes = "# Not a heading\n```python\nprint('a fence inside')\n```\n![x](/etc/passwd)"
    pasted = "````\nfour backticks, then *stars*"
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    writer.write(tmp_path / "scan.pdf")
    pdf = lock_document(tmp_path / "scan.pdf")
    conv = Conversation(model=SONNET_46, title="With attachments")
    conv.add_user_text("What do these say?", document_from_text(notes, "notes [v2].md"), pdf)
    message = conv.messages[-1]
    conv.messages[-1] = type(message)(
        "user", (*message.blocks[:-1], TextBlock(pasted), message.blocks[-1]), message.id, 0.0
    )
    conv.add("assistant", TextBlock("They say hello."))
    path = export_markdown(conv, tmp_path / "out.md")
    text = path.read_text()
    assert "**Attached:** notes \\[v2\\].md (1 KB text)" in text
    (linked,) = (tmp_path / "out_images").iterdir()
    assert linked.suffix == ".pdf" and linked.read_bytes() == pdf.data
    assert f"(out_images/{linked.name})" in text and "scan.pdf (1 pages)" in text
    fences = [t.content for t in MarkdownIt().parse(text) if t.type == "fence"]
    assert fences == [notes + "\n", pasted + "\n"]
    assert "What do these say?" in text and "They say hello." in text


def test_failures_say_what_is_wrong(tmp_path):
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / DB_NAME).write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(StorageError) as corrupt:
        Store.open(tmp_path / "broken")
    assert corrupt.value.kind == "corrupt" and "damaged" in str(corrupt.value)
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(StorageError) as blocked:
        Store.open(tmp_path / "a-file" / "inside")
    assert blocked.value.kind == "read_only"
    store = Store.open(tmp_path / "ok")
    other = sqlite3.connect(tmp_path / "ok" / DB_NAME)
    other.execute("BEGIN EXCLUSIVE")
    store.conn.execute("PRAGMA busy_timeout = 100")
    with pytest.raises(StorageError) as locked:
        store.save_conversation(Conversation(model=SONNET_46))
    assert locked.value.kind == "locked"
    other.rollback()


def test_a_full_disk_loses_nothing_and_the_next_write_saves_it_all(tmp_path, sim):
    store = Store.open(tmp_path)
    writer = Writer(store)
    client = anthropic.AsyncAnthropic(base_url=sim.base_url, api_key="k", max_retries=0)
    engine = Engine(client, EngineSettings(warming=False))
    session = Session(sample(tmp_path))
    errors = []
    recorder = Recorder(writer, engine, session, on_error=errors.append)
    store.conn.execute("VACUUM")  # no free pages left over from the migrations
    pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
    store.conn.execute(f"PRAGMA max_page_count = {pages}")  # the disk is now full

    async def scenario():
        await recorder.commit()
        assert errors and errors[0].kind == "full" and "full" in str(errors[0])
        session.conversation.add_user_text("one more " + text_of(50))
        await engine.run_turn(session)
        await writer.flush()
        store.conn.execute("PRAGMA max_page_count = 1000000")  # space again
        await recorder.commit()
        await client.close()

    asyncio.run(scenario())
    assert recorder.failed is None
    writer.close()
    loaded, records, _ = Store.open(tmp_path).load(session.id)
    assert len(loaded.messages) == len(session.conversation.messages) == 6
    assert len(records) == 1 and records[0]["usage"]["write_5m"] > 0


def test_reopening_restores_records_prefix_maps_and_the_ledger(tmp_path, sim):
    store = Store.open(tmp_path)
    writer = Writer(store)
    client = anthropic.AsyncAnthropic(base_url=sim.base_url, api_key="k", max_retries=0)
    # A fixed TTL: the maps are stored against each other only while their marks agree.
    engine = Engine(client, EngineSettings(warming=False, cache=CacheSettings(ttl="5m")))
    session = Session(Conversation(model=SONNET_46))
    session.conversation.set_system_text(text_of(2000, "system"))
    Recorder(writer, engine, session)

    async def scenario():
        for question in ("first", "second", "third"):
            session.conversation.add_user_text(question)
            await engine.run_turn(session)
        await writer.flush()
        await client.close()

    asyncio.run(scenario())
    writer.close()
    conv, records, ledger = Store.open(tmp_path).load(session.id)
    # The same endpoint and key as before: its entries are found again.
    same_place = anthropic.AsyncAnthropic(base_url=sim.base_url, api_key="k")
    fresh = Engine(same_place, EngineSettings(warming=False))
    restored = restore_session(fresh, conv, records, ledger)
    before = session.totals.records
    after = restored.totals.records
    assert [r.usage for r in after] == [r.usage for r in before]
    assert [r.prefix for r in after] == [r.prefix for r in before]
    assert records[1]["prefix"]["shared"] > 0  # stored against the previous map
    assert {e.fingerprint for e in fresh.ledger.live()} == {
        e.fingerprint for e in engine.ledger.live()
    }
    # Another endpoint (the real API) or another key has none of them.
    fresh.client = anthropic.AsyncAnthropic(api_key="k")
    assert not fresh.ledger.live()
    fresh.client = anthropic.AsyncAnthropic(base_url=sim.base_url, api_key="another key")
    assert not fresh.ledger.live()
    assert conv.title == "first"


def test_a_new_conversation_enters_the_history_with_its_first_message(tmp_path, sim):
    store = Store.open(tmp_path)
    writer = Writer(store)
    client = anthropic.AsyncAnthropic(base_url=sim.base_url, api_key="k", max_retries=0)
    engine = Engine(client, EngineSettings(warming=True))
    session = Session(Conversation(model=SONNET_46))
    session.conversation.set_system_text(text_of(2000, "system"))
    recorder = Recorder(writer, engine, session)

    async def scenario():
        await engine.drafts.activity(session)  # a warm-up while the first message is typed
        await writer.flush()
        listed_before = store.conversations()
        session.conversation.add_user_text("the first message")
        await recorder.commit()
        await client.close()
        return listed_before

    listed_before = asyncio.run(scenario())
    assert listed_before == []
    assert [c.title for c in store.conversations()] == ["the first message"]
    _, records, _ = store.load(session.id)
    assert [r["kind"] for r in records] == ["warm"]  # the warm-up's record came along
    writer.close()


def test_warm_ups_pings_and_quitting_never_move_a_conversation_in_the_list(tmp_path, sim):
    """Issue 35.10: the list's dates are the user's. A warm-up or keep-alive ping in an older
    conversation, or the save at quitting, moved it to the top with a new date."""
    import time

    store = Store.open(tmp_path)
    writer = Writer(store)
    client = anthropic.AsyncAnthropic(base_url=sim.base_url, api_key="k", max_retries=0)
    engine = Engine(client, EngineSettings(warming=True))
    sessions = [Session(Conversation(model=SONNET_46)) for _ in range(2)]
    recorders = []
    for title, session in zip(("older", "newer"), sessions, strict=True):
        session.conversation.set_system_text(text_of(2000, f"system of {title}"))
        session.conversation.add_user_text(title)
        recorders.append(Recorder(writer, engine, session))

    async def scenario():
        for recorder in recorders:
            await recorder.commit()
            time.sleep(0.01)
        before = {c.id: c.updated_at for c in store.conversations()}
        warm = engine.drafts.activity(sessions[0])  # a warm-up in the older conversation
        assert warm is not None
        await warm
        recorders[0].sync()  # as at quitting
        await writer.flush()
        await client.close()
        return before

    before = asyncio.run(scenario())
    listed = store.conversations()
    assert [c.title for c in listed] == ["newer", "older"]
    assert {c.id: c.updated_at for c in listed} == before
    _, records, _ = store.load(sessions[0].id)
    assert [r["kind"] for r in records] == ["warm"]  # the warm-up is in the history all the same
    writer.close()


def save(store, conv, records=()):
    store.save_conversation(conv)
    store.save_messages(conv.id, list(enumerate(conv.messages)), len(conv.messages))
    for seq, record in enumerate(records):
        store.save_request(conv.id, seq, record)


def test_an_imported_copy_keeps_its_messages_and_a_pin_in_it_leaves_the_original(tmp_path):
    """Message ids are the same in a copy; they are keys only within their conversation."""
    store = Store.open(tmp_path)
    original = sample(tmp_path)
    record = {"id": "r1", "kind": "turn", "at": 1.0, "cost": [0.1, 0.2], "usage": {}}
    save(store, original, [record])
    export_json(original, tmp_path / "out.json", [record])
    copy, records = import_json(tmp_path / "out.json", taken_ids=store.ids())
    assert copy.id != original.id
    copy.messages[0] = type(copy.messages[0])(**{**copy.messages[0].__dict__, "pinned": True})
    save(store, copy, records)
    mine, my_records, _ = store.load(original.id)
    theirs, their_records, _ = store.load(copy.id)
    assert len(mine.messages) == len(theirs.messages) == len(original.messages)
    assert not mine.messages[0].pinned and theirs.messages[0].pinned
    assert [r["id"] for r in my_records] == [r["id"] for r in their_records] == ["r1"]


def test_a_deleted_conversation_restored_from_its_export_is_visible_and_not_purged(tmp_path):
    store = Store.open(tmp_path)
    conv = sample(tmp_path)
    save(store, conv)
    export_json(conv, tmp_path / "out.json", [])
    store.delete(conv.id)
    restored, _ = import_json(tmp_path / "out.json", taken_ids=store.ids())
    save(store, restored)
    store.purge_deleted()
    rows = store.conversations()
    assert [r.id for r in rows] == [restored.id] and rows[0].messages == len(conv.messages)


def test_a_second_schema_database_is_migrated_with_its_search(tmp_path):
    path = tmp_path / DB_NAME
    conn = sqlite3.connect(path)
    migrate(conn, upto=2)
    conn.execute(
        "INSERT INTO conversations (id, title, created_at, updated_at, model, meta)"
        " VALUES ('c2', 'two', 1, 2, ?, ?)",
        (SONNET_46, json.dumps(Conversation(model=SONNET_46, id="c2").meta_dict())),
    )
    body = {
        "id": "m1",
        "role": "user",
        "created_at": 1.0,
        "blocks": [{"type": "text", "text": "harbour"}],
    }
    conn.execute(
        "INSERT INTO messages VALUES ('m1', 'c2', 0, 'user', 1.0, 0, ?, 'harbour')",
        (json.dumps(body),),
    )
    conn.commit()
    conn.close()
    store = Store(path)
    assert store.version == VERSION and [h.message_id for h in store.search("harbour")] == ["m1"]
    copy = Conversation(model=SONNET_46, id="c3")
    copy.messages = list(store.load("c2")[0].messages)
    save(store, copy)  # the same message id in another conversation
    assert len(store.load("c2")[0].messages) == len(store.load("c3")[0].messages) == 1


def test_a_second_cachescope_on_the_same_data_folder_says_so_and_stops(tmp_path):
    import os
    import subprocess
    import sys

    from app.storage.instance_lock import AlreadyRunning, InstanceLock

    first = InstanceLock(tmp_path).acquire()
    with pytest.raises(AlreadyRunning, match="already running"):
        InstanceLock(tmp_path).acquire()
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(
        [sys.executable, "-m", "app", "--smoke-test", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 4 and "already running" in done.stderr
    first.release()
    InstanceLock(tmp_path).acquire().release()  # free again once the first one is gone


def test_the_users_own_pauses_are_read_per_conversation_without_tool_results(tmp_path):
    store = Store.open(tmp_path)
    for offset in (0.0, 10_000.0):
        conv = Conversation(model=SONNET_46)
        conv.add_user_text("first", created_at=1000.0 + offset)
        conv.add("assistant", ToolUseBlock.create("t1", "clock", {}), created_at=1001.0 + offset)
        conv.add("user", ToolResultBlock("t1", (TextBlock("noon"),)), created_at=1002.0 + offset)
        conv.add("assistant", TextBlock("It is noon."), created_at=1003.0 + offset)
        conv.add_user_text("thanks", created_at=1300.0 + offset)
        conv.add("assistant", TextBlock("You're welcome."), created_at=1301.0 + offset)
        conv.add_user_text("one more", created_at=1360.0 + offset)
        store.save_conversation(conv)
        store.save_messages(conv.id, list(enumerate(conv.messages)))
    # Two conversations, each: 300 s then 60 s; nothing across them, no tool result counted.
    assert sorted(store.user_pauses()) == [60.0, 60.0, 300.0, 300.0]


def test_an_import_whose_messages_share_an_id_keeps_every_message(tmp_path):
    """Issue 25, point 11: two messages with one id came back from the history as one."""
    store = Store.open(tmp_path)
    conv = sample(tmp_path)
    path = export_json(conv, tmp_path / "out.json", [])
    payload = json.loads(path.read_text())
    first = payload["conversation"]["messages"][0]["id"]
    for message in payload["conversation"]["messages"]:
        message["id"] = first
    path.write_text(json.dumps(payload))
    imported, _ = import_json(path, taken_ids=store.ids())
    assert len({m.id for m in imported.messages}) == len(imported.messages) == len(conv.messages)
    save(store, imported, [])
    loaded, _, _ = store.load(imported.id)
    assert [m.text for m in loaded.messages] == [m.text for m in conv.messages]
