"""The real window, offscreen, against the embedded simulator (pytest-qt and qasync)."""

import os
import subprocess
import sys

from PIL import Image
from PySide6.QtCore import Qt, QUrl

from app.conversation.blocks import TextBlock
from app.conversation.conversation import Conversation
from app.engine.session import Session
from app.simulator.runner import SimulatorThread
from app.simulator.server import SimulatorConfig
from tests.helpers import text_of
from tests.uikit import drop_files, last_usage, make_window, turn_over, until


def test_type_drop_send_and_see_a_write_then_a_read(qtbot, loop, sim, tmp_path):
    window, client = make_window(sim.base_url)
    qtbot.addWidget(window)
    Image.new("RGB", (600, 400), "purple").save(tmp_path / "shot.png")

    async def scenario():
        drop_files(window.composer.edit, [tmp_path / "shot.png"])
        await until(lambda: window.composer.attachments)
        qtbot.keyClicks(window.composer.edit, "what is this?")
        qtbot.keyClick(window.composer.edit, Qt.Key.Key_Return)
        await until(lambda: turn_over(window))
        first = last_usage(window)
        first_read = window.sidebar.fields["read"].text()
        window.composer.edit.setPlainText("and now?")
        window.sending.send()
        await until(lambda: turn_over(window) and last_usage(window) is not first)
        await client.close()
        return first, first_read, last_usage(window)

    first, first_read, second = loop.run_until_complete(scenario())
    assert first.write > 3000 and first.read == 0 and first_read == "0 tokens"
    assert second.read == first.write
    assert window.sidebar.fields["read"].text() == f"{second.read:,} tokens"
    # The second turn wrote ~100 new tokens: an hour's lifetime for them is worth its premium.
    assert second.write_1h == second.write > 0
    rows = window.view.rows()
    assert "1h" in [ttl for row in rows for ttl in row.marks.flags]  # drawn in the gutter
    assert rows[0].kind == "system" and rows[0].marks.read == 3000  # read by the second turn
    assert rows[1].marks.read > 0 and rows[1].images  # the image too
    assert rows[-1].turn is not None and rows[-1].turn.read == second.read
    assert window.session.conversation.messages[0].blocks[0].image.width == 600


def test_switching_the_pattern_moves_the_breakpoint_markers(qtbot, loop, sim):
    window, client = make_window(sim.base_url)
    qtbot.addWidget(window)
    conv = window.session.conversation
    for i in range(3):
        conv.add_user_text(f"question {i} " + text_of(400))
        conv.add("assistant", TextBlock(f"answer {i}"))
    window.toolbar.pattern_box.setCurrentIndex(
        window.toolbar.pattern_box.findData("last_3_user_messages")
    )
    three = [b.index for b in window.view.last_built.breakpoints]
    window.toolbar.pattern_box.setCurrentIndex(
        window.toolbar.pattern_box.findData("system_and_tools")
    )
    # It caches less of every request from then on: priced, and asked about (issue 35.2).
    box = window.switch.box
    assert "more every turn after it" in box.text()
    [b for b in box.buttons() if b.text() == "Change it"][0].click()
    one = [b.index for b in window.view.last_built.breakpoints]
    assert len(three) == 3 and one == [0]
    assert sum(len(row.marks.flags) for row in window.view.rows()) == 1
    loop.run_until_complete(client.close())


FRENCH = (
    "Le café de la gare est fermé le dimanche. Les élèves doivent être à l'école à huit heures.\n"
    "Où sont les clés ? Dans le tiroir à côté de la fenêtre, près du réfrigérateur.\n"
    "Noël approche : les rues sont décorées et les enfants préparent leurs lettres.\n"
)


def test_dropped_text_becomes_a_document_and_a_binary_is_refused_with_a_message(
    qtbot, loop, sim, tmp_path
):
    window, client = make_window(sim.base_url)
    qtbot.addWidget(window)
    (tmp_path / "notes.txt").write_bytes(FRENCH.encode("latin-1"))
    (tmp_path / "blob.bin").write_bytes(bytes(range(256)) * 40)

    async def scenario():
        drop_files(window.composer.edit, [tmp_path / "blob.bin", tmp_path / "notes.txt"])
        await until(lambda: "binary" in window.composer.notice.text())
        await client.close()

    loop.run_until_complete(scenario())
    [document] = window.composer.attachments
    assert document.name == "notes.txt" and document.data.decode() == FRENCH
    assert "blob.bin is a binary file" in window.composer.notice.text()
    assert "~" in window.composer.summary.text() and "tokens" in window.composer.summary.text()


def test_model_text_cannot_load_files_or_open_file_links(qtbot, loop, sim):
    window, client = make_window(sim.base_url)
    qtbot.addWidget(window)
    conv = window.session.conversation
    conv.add_user_text("hi")
    conv.add(
        "assistant",
        TextBlock(
            "![x](file:///etc/passwd) and [click](file:///etc/passwd) "
            "<a href='file:///etc/hosts'>raw</a> ![y](/etc/hostname)"
        ),
    )
    window.view.show_conversation(conv)
    opened = []
    window.view.link_refused.connect(opened.append)
    window.view.follow("file:///etc/passwd")
    assert opened == ["file:///etc/passwd"]
    shown = window.view.plain_text()
    assert "root:" not in shown
    assert "<a href" in shown  # raw HTML is shown as text, not rendered
    for document in window.view.documents():
        assert not document.loadResource(2, QUrl("file:///etc/passwd"))
        for kind in (1, 2, 3):  # HTML, image, style sheet: nothing comes from disk
            assert not document.resource(kind, QUrl("file:///etc/passwd"))
            assert not document.resource(kind, QUrl("/etc/hostname"))
    loop.run_until_complete(client.close())


def test_esc_stops_a_reply_and_keeps_its_text(qtbot, loop):
    with SimulatorThread(SimulatorConfig(time_scale=1.0)) as slow:
        window, client = make_window(slow.base_url)
        qtbot.addWidget(window)

        async def scenario():
            window.composer.edit.setPlainText("a long answer please")
            window.sending.send()
            await until(lambda: len(window.view.tail_text()) > 20)
            qtbot.keyClick(window.composer.edit, Qt.Key.Key_Escape)
            await until(lambda: turn_over(window))
            await client.close()

        loop.run_until_complete(scenario())
    last = window.session.conversation.messages[-1]
    assert last.role == "assistant" and last.interrupted and len(last.text) > 20
    assert "Stopped" in window.status_label.text()


def test_smoke_test_command_runs_one_turn_offscreen():
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    env.pop("ANTHROPIC_API_KEY", None)
    done = subprocess.run(
        [sys.executable, "-m", "app", "--smoke-test"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "smoke test: mode='Offline simulator" in done.stdout
    assert "write_5m=" in done.stdout


def test_a_damaged_image_in_a_drop_is_refused_and_the_valid_one_still_attaches(
    qtbot, loop, sim, tmp_path
):
    window, client = make_window(sim.base_url)
    qtbot.addWidget(window)
    Image.new("RGB", (300, 200), "teal").save(tmp_path / "good.webp", "WEBP")
    Image.new("RGB", (300, 200), "teal").save(tmp_path / "whole.png")
    data = (tmp_path / "whole.png").read_bytes()
    (tmp_path / "partial.png").write_bytes(data[: len(data) // 3])  # a partial download

    async def scenario():
        drop_files(window.composer.edit, [tmp_path / "partial.png", tmp_path / "good.webp"])
        await until(lambda: not window.composer.pending)
        await client.close()

    loop.run_until_complete(scenario())
    assert [a.width for a in window.composer.attachments] == [300]
    notice = window.composer.notice.text()
    assert "partial.png" in notice and "Preparing" not in notice


def test_a_new_conversation_shows_no_last_turn_of_the_previous_one(qtbot, loop, sim):
    window, client = make_window(sim.base_url)
    qtbot.addWidget(window)

    async def scenario():
        window.composer.edit.setPlainText("a question")
        window.sending.send()
        await until(lambda: turn_over(window))
        await client.close()

    loop.run_until_complete(scenario())
    assert window.sidebar.fields["read"].text() != "–"
    window.workspace.new(Session(Conversation(model=window.session.conversation.model)))
    shown = [window.sidebar.fields[k].text() for k in ("read", "written", "cost", "saved", "why")]
    assert shown == ["–"] * 5
