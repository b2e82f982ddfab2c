"""The conversation list in the window: new, reopen, rename, delete with undo, search that jumps
to the message, export and import, and a history that cannot be written."""

import sqlite3

import pytest

from app.conversation.blocks import TextBlock
from app.conversation.conversation import Conversation
from app.conversation.documents import document_from_text
from app.storage.store import DB_NAME, Store
from app.storage.uploads import saved_uploads
from app.ui.features.history.panel import CONVERSATION_ROLE
from tests.helpers import SONNET_46, text_of
from tests.uikit import close_history, make_window, turn_over, until


@pytest.fixture
def libraries(loop):
    """Windows with a history; their writers are drained and closed while the loop runs."""
    made = []
    yield made
    for window in made:
        loop.run_until_complete(close_history(window))


def with_library(sim, folder, made, **kwargs):
    """A window with a history in ``folder``, and its conversation list (``window.history``)."""
    window, client = make_window(sim.base_url, folder=folder, **kwargs)
    made.append(window)
    return window, client, window.history


async def send(window, text):
    window.composer.edit.setPlainText(text)
    window.sending.send()
    await until(lambda: turn_over(window))


def listed(library):
    return [
        library.panel.list.item(i).text().splitlines()[0] for i in range(library.panel.list.count())
    ]


def test_conversations_are_listed_reopened_with_their_records_and_searchable(
    qtbot, loop, sim, tmp_path, libraries
):
    window, client, library = with_library(sim, tmp_path, libraries)
    qtbot.addWidget(window)
    window.show()

    async def scenario():
        await send(window, "Tell me about lighthouses")
        await send(window, "And about their keepers")
        first = window.session.id
        library.new_conversation()
        await send(window, "Something about volcanoes")
        await library.refresh()
        names = listed(library)
        assert await library.open(first)
        reopened = window.session
        library.panel.search.setText("keep")
        await until(
            lambda: library.panel.list.count() and "keepers" in library.panel.list.item(0).text()
        )
        library.new_conversation()
        library.activate(library.panel.list.item(0))
        await until(lambda: window.session.id == first)
        await client.close()
        await window.workspace.writer.flush()
        return names, reopened

    names, reopened = loop.run_until_complete(scenario())
    assert names == ["Something about volcanoes", "Tell me about lighthouses"]
    assert [r.kind for r in reopened.totals.records] == ["turn", "turn"]
    assert reopened.totals.records[1].usage.read > 3000  # the inspector's data came back
    assert window.inspector.picker.count() == 2
    # The search result jumped to its message: the third one, "And about their keepers".
    assert window.view.currentIndex().row() == window.view.position_of_message(2)
    assert window.windowTitle().startswith("Tell me about lighthouses")


def test_rename_delete_and_undo(qtbot, loop, sim, tmp_path, libraries):
    window, client, library = with_library(sim, tmp_path, libraries)
    qtbot.addWidget(window)

    async def scenario():
        await send(window, "first chat")
        library.new_conversation()
        await send(window, "second chat")
        await library.refresh()
        library.rename(window.session.id, "Renamed")
        await until(lambda: "Renamed" in listed(library))
        target = next(
            library.panel.list.item(i)
            for i in range(library.panel.list.count())
            if library.panel.list.item(i).text().startswith("first chat")
        )
        library.panel.list.setCurrentItem(target)
        library.delete_selected()
        await until(lambda: listed(library) == ["Renamed"])
        assert library.undo_button.isVisibleTo(window)
        library.undo_delete()
        await until(lambda: len(listed(library)) == 2)
        await client.close()

    loop.run_until_complete(scenario())
    assert sorted(listed(library)) == ["Renamed", "first chat"]
    assert window.windowTitle().startswith("Renamed")


def test_export_and_import_from_the_window_keep_the_cache_hitting(
    qtbot, loop, sim, tmp_path, libraries
):
    window, client, library = with_library(sim, tmp_path / "data", libraries)
    qtbot.addWidget(window)

    async def scenario():
        await send(window, "a question worth keeping")
        original = window.engine.builder.build(window.session.conversation, "smart").json_bytes
        await library.export("json", tmp_path / "chat.json")
        await library.export("md", tmp_path / "chat.md")
        assert await library.import_file(tmp_path / "chat.json")
        imported = window.session
        again = window.engine.builder.build(imported.conversation, "smart").json_bytes
        await send(window, "a follow-up on the imported copy")
        await window.workspace.writer.flush()
        await client.close()
        return original, again, imported

    original, again, imported = loop.run_until_complete(scenario())
    assert original == again
    assert imported.totals.records[-1].usage.read > 3000  # the imported copy read the cache
    assert "(imported)" in imported.conversation.title
    assert (tmp_path / "chat.md").read_text().count("## ") >= 3


def test_a_history_that_cannot_be_written_keeps_the_conversation_and_says_so(
    qtbot, loop, sim, tmp_path, libraries
):
    window, client, library = with_library(sim, tmp_path, libraries)
    qtbot.addWidget(window)
    store = window.workspace.writer.store
    store.conn.execute("PRAGMA query_only = ON")  # every write now fails as on a read-only disk

    problem = library.problem_label

    async def scenario():
        await send(window, "a message while nothing can be written " + text_of(200))
        await until(lambda: "cannot write" in problem.text() and problem.isVisibleTo(window))
        assert "kept in memory" in problem.text()
        await until(lambda: turn_over(window))
        await send(window, "a second message: the warning must stay")  # sends clear the status
        await until(lambda: turn_over(window))
        assert problem.isVisibleTo(window) and "cannot write" in problem.text()
        await window.workspace.writer.flush()
        store.conn.execute("PRAGMA query_only = OFF")
        window.workspace.retry_saving()
        await until(lambda: window.status_label.text() == "Saved again.")
        await client.close()

    loop.run_until_complete(scenario())
    assert not problem.isVisibleTo(window)
    conv, records, _ = Store.open(tmp_path).load(window.session.id)
    assert len(conv.messages) == 4 and len(records) == 2


def test_opening_a_long_conversation_from_the_list(qtbot, loop, sim, tmp_path, libraries):
    store = Store.open(tmp_path)
    conv = Conversation(model=SONNET_46, title="Long one")
    for i in range(200):
        conv.add_user_text(f"question {i}")
        conv.add("assistant", TextBlock(f"answer {i} with `code`"))
    store.save_conversation(conv)
    store.save_messages(conv.id, list(enumerate(conv.messages)))
    store.close()
    window, client, library = with_library(sim, tmp_path, libraries)
    qtbot.addWidget(window)

    async def scenario():
        await library.refresh()
        (item,) = [
            library.panel.list.item(i)
            for i in range(library.panel.list.count())
            if library.panel.list.item(i).data(CONVERSATION_ROLE) == conv.id
        ]
        library.activate(item)
        await until(lambda: window.session.id == conv.id)
        await client.close()

    loop.run_until_complete(scenario())
    assert len(window.session.conversation.messages) == 400
    assert "answer 199" in window.view.rows()[-1].body


def test_the_menus_hold_every_entry_in_order_with_its_shortcut(
    qtbot, loop, sim, tmp_path, libraries
):
    """Entries are declared by each part and placed by the window: the history's File entries
    come above Quit, its View entries after the inspector's, each with its shortcut."""
    window, client, library = with_library(sim, tmp_path, libraries)
    qtbot.addWidget(window)

    def entries(menu):
        return [
            "-" if a.isSeparator() else f"{a.text()} {a.shortcut().toString()}".strip()
            for a in window.menus[menu].actions()
        ]

    assert entries("file") == [
        "&New conversation Ctrl+N",
        "&Import JSON… Ctrl+Shift+O",
        "Export as &Markdown… Ctrl+E",
        "Export as &JSON… Ctrl+Shift+J",
        "&Attach files… Ctrl+O",
        "Attach a f&older… Ctrl+Shift+A",
        "&Uploaded files…",
        "Open &Claude Code sessions…",
        "-",
        "&Quit Ctrl+Q",
    ]
    assert entries("view") == [
        "Cache inspector Ctrl+I",
        "Switch &appearance (system, light, dark) Ctrl+Shift+L",
        "Other &programs (inspector)…",
        "Conversations Ctrl+L",
        "&Search messages Ctrl+F",
        "&Rename conversation F2",
        "&Delete conversation Del",
    ]
    delete = window.menus["view"].actions()[-1]
    assert delete in library.panel.actions()  # Del deletes only from the list, not the draft
    assert window.menuBar().actions()[1].text() == "&Conversation"


def test_an_uploaded_document_is_remembered_listed_and_deleted_from_the_window(
    qtbot, loop, sim, tmp_path, libraries
):
    """Attach a large text, send: it goes up once (progress in the status line), the history
    keeps its file id; File → Uploaded files lists it and Delete removes it from the workspace,
    the history and the list."""
    window, client, library = with_library(sim, tmp_path, libraries)
    qtbot.addWidget(window)
    window.engine.uploads.min_bytes = 5_000
    said = []
    original = window.notify
    window.notify = lambda text: (said.append(text), original(text))
    document = document_from_text("a clause of the lease. " * 1000, "lease.txt")

    async def scenario():
        window.composer.set_draft("Read the lease.", [document])
        window.sending.send()
        await until(lambda: turn_over(window))
        await window.workspace.writer.flush()
        kept = await window.workspace.writer.run(saved_uploads)
        dialog = window.files.open()
        listed = [dialog.list.item(i).text() for i in range(dialog.list.count())]
        dialog.list.setCurrentRow(0)
        dialog.delete_button.click()
        await until(lambda: not window.engine.uploads.known)
        await window.workspace.writer.flush()
        left = await window.workspace.writer.run(saved_uploads)
        remote = [f async for f in client.files.list()]
        shown = dialog.list.item(0).text()
        dialog.close()
        return kept, listed, left, remote, shown

    kept, listed, left, remote, shown = loop.run_until_complete(scenario())
    assert [u.name for u in kept] == ["lease.txt"] and kept[0].file_id.startswith("file_")
    assert len(listed) == 1 and listed[0].startswith("lease.txt") and kept[0].file_id in listed[0]
    assert left == [] and remote == [] and shown == "Nothing uploaded here."
    assert any(t.startswith("Uploading lease.txt: 0%") for t in said)
    assert "Uploaded lease.txt: sent by reference from now on." in said
    assert said[-1] == "Deleted lease.txt from the workspace."


def test_a_history_past_the_listed_conversations_says_how_many_more_there_are(
    qtbot, loop, sim, tmp_path, libraries
):
    """Issue 25, point 14: conversations past the 5,000th were not listed, and nothing said so."""
    Store.open(tmp_path)  # made with its schema
    with sqlite3.connect(tmp_path / DB_NAME) as conn:  # 5,003 conversations, quickly
        conn.executemany(
            "INSERT INTO conversations (id, title, model, created_at, updated_at, meta)"
            " VALUES (?, ?, ?, ?, ?, '{}')",
            [(f"c{i}", f"chat {i}", SONNET_46, i, i) for i in range(5003)],
        )
    window, client, library = with_library(sim, tmp_path, libraries)
    qtbot.addWidget(window)
    loop.run_until_complete(library.refresh())
    rows = listed(library)
    assert len(rows) == 5001 and rows[0] == "chat 5002"
    assert rows[-1].startswith("Showing the 5,000 most recently used of 5,003 conversations")
    loop.run_until_complete(client.close())


def test_a_draft_stays_with_its_conversation_and_its_paid_warm_up_stays_on_the_books(
    qtbot, loop, sim, tmp_path, libraries
):
    """A new user: Ctrl+N, a long text pasted (warmed at once: Paid $0.0244), then a click on
    another conversation: the whole draft was now in that conversation's composer (Enter would
    have sent it there), the new conversation was in no list, and the warm-up was recorded
    nowhere. Each conversation keeps its draft; an unsent one that cost money is in the history
    with what it cost."""
    window, client, library = with_library(sim, tmp_path, libraries, warming=True)
    qtbot.addWidget(window)
    window.show()
    pasted = text_of(6_000, "a contract pasted as text")

    async def scenario():
        await send(window, "Tell me about lighthouses")
        first = window.session.id
        library.new_conversation()
        fresh = window.session
        window.composer.edit.setPlainText(pasted + "\n\nWho signs?")
        window.composer.pasted_texts.append(pasted)  # "Paste as text": a block of its own
        window.sending.draft_changed(now=True)  # as a paste does: decided at once
        await until(lambda: any(r.kind == "warm" for r in fresh.totals.records))
        warm = next(r for r in fresh.totals.records if r.kind == "warm")
        assert await library.open(first)
        left_with = window.composer.text()
        await window.workspace.writer.flush()
        await library.refresh()
        names = listed(library)
        assert await library.open(fresh.id)
        back = window.composer.text()
        await client.close()
        return first, fresh, warm, left_with, names, back

    first, fresh, warm, left_with, names, back = loop.run_until_complete(scenario())
    assert left_with == ""  # the other conversation's own (empty) draft
    assert back == (pasted + "\n\nWho signs?").strip()  # the draft is back with its conversation
    assert len(names) == 2
    _, records, _ = Store.open(tmp_path).load(fresh.id)
    assert [r["kind"] for r in records] == ["warm"]
    assert records[0]["cost"][0] == pytest.approx(warm.cost.paid_usd) and warm.cost.paid_usd > 0


def test_an_edit_in_progress_comes_back_with_its_conversation(
    qtbot, loop, sim, tmp_path, libraries
):
    """Shown again after another, a conversation brings back its draft: an edit in progress
    too, with its card (else Enter would have replaced its messages with no card saying so)."""
    window, client, library = with_library(sim, tmp_path, libraries)
    qtbot.addWidget(window)
    window.show()

    async def scenario():
        await send(window, "Tell me about lighthouses")
        await send(window, "And about their keepers")
        first = window.session.id
        window.messages.edit_message(2)
        window.composer.edit.setPlainText("And about their lamps")
        library.new_conversation()
        away = (window.composer.text(), window.view.editing)
        assert await library.open(first)
        await client.close()
        return away

    away = loop.run_until_complete(scenario())
    assert away == ("", None)
    assert window.composer.text() == "And about their lamps" and window.view.editing == 2
    assert "Editing message 3" in window.view.plain_text()
