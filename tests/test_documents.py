"""Attaching documents: real files made here (a multi-page PDF, a damaged and an encrypted one, a
folder with a .gitignore and a binary, a Latin-1 text, a 50 MB file), each locked by its content
or refused with a message; locked bytes survive the history and an export; the simulator reads
the document from cache on the next turn; and thousands of mutated PDFs are locked or refused."""

import base64
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from fpdf import FPDF

from app.conversation.attachments import AttachmentError, kind_of, lock_file, lock_whole_folder
from app.conversation.conversation import Conversation
from app.conversation.documents import DocumentError, LockedDocument, lock_document, scan_folder
from app.facts.documents import pdf_facts
from app.storage.store import Store
from tests.helpers import SONNET_46

ROOT = Path(__file__).resolve().parents[1]
LINE = "The tenant pays the rent on the first day of each month, by transfer. "


def make_pdf(path: Path, pages: int, password: str | None = None) -> Path:
    pdf = FPDF()
    for page in range(pages):
        pdf.add_page()
        pdf.set_font("Helvetica", size=11)
        pdf.multi_cell(0, 7, f"Page {page + 1}. " + LINE * 10)
    if password:
        pdf.set_encryption(owner_password="owner", user_password=password)
    pdf.output(str(path))
    return path


def test_a_pdf_is_known_by_its_content_and_costs_text_plus_a_page_image(tmp_path):
    pdf = make_pdf(tmp_path / "lease.txt", 5)  # the wrong extension: the content decides
    assert kind_of(pdf) == "pdf"
    document = lock_file(pdf)
    facts = pdf_facts(pdf.read_bytes())
    assert document.is_pdf and document.pages == 5
    assert facts.image_tokens > 5 * 1000 and facts.text_tokens > 5 * 100  # both halves counted
    assert document.tokens >= facts.tokens
    block = document.api_block
    assert block["type"] == "document" and block["title"] == "lease.txt"
    assert base64.b64decode(block["source"]["data"]) == pdf.read_bytes()  # the bytes, unchanged


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda p: p.write_bytes(make_pdf(p, 3).read_bytes()[:1500]), "damaged"),
        (lambda p: make_pdf(p, 2, password="pw"), "encrypted"),
        (lambda p: p.write_bytes(bytes(range(256)) * 100), "binary"),
        (lambda p: p.write_bytes(b"%PDF-1.7\n" + b"\x00" * 50), "damaged"),
    ],
    ids=["truncated pdf", "encrypted pdf", "binary file", "pdf header only"],
)
def test_what_cannot_be_read_is_refused_with_a_message(tmp_path, make, words):
    path = tmp_path / "file.pdf"
    make(path)
    with pytest.raises(AttachmentError) as caught:
        lock_file(path)
    assert words in str(caught.value) and "file.pdf" in str(caught.value)


def test_a_50_mb_file_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "huge.log"
    with open(path, "wb") as handle:
        handle.truncate(50 * 1024 * 1024)  # sparse: 50 MB that cost nothing to make
    with pytest.raises(DocumentError) as caught:
        lock_document(path)
    assert "50 MB" in str(caught.value) and "tokens" in str(caught.value)


def test_a_latin_1_file_is_decoded_and_sent_as_utf_8(tmp_path):
    text = "Müller und Söhne verkaufen Äpfel, Öl und Süßigkeiten auf dem Markt.\n" * 3
    path = tmp_path / "markt.txt"
    path.write_bytes(text.encode("latin-1"))
    document = lock_file(path)
    assert document.api_block["source"] == {
        "type": "text",
        "media_type": "text/plain",
        "data": text,
    }


def make_project(root: Path) -> Path:
    (root / "src" / "pkg").mkdir(parents=True)
    (root / "src" / "pkg" / "core.py").write_text("def core():\n    return 42\n")
    (root / "src" / "main.py").write_text("from pkg.core import core\nprint(core())\n")
    (root / "README.md").write_text("# Project\n\nRead me first.\n")
    (root / ".gitignore").write_text("*.log\nsecrets/\n")
    (root / "debug.log").write_text("noise\n")
    (root / "secrets").mkdir()
    (root / "secrets" / "key.txt").write_text("do not send\n")
    (root / "node_modules" / "lib").mkdir(parents=True)
    (root / "node_modules" / "lib" / "index.js").write_text("module.exports = 1;\n")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (root / "logo.bin").write_bytes(bytes(range(256)) * 8)
    (root / "src" / "pkg" / ".gitignore").write_text("generated.py\n")
    (root / "src" / "pkg" / "generated.py").write_text("X = 1\n")
    return root


def test_a_folder_honours_gitignore_skips_binaries_and_keeps_a_stable_order(tmp_path):
    root = make_project(tmp_path / "project")
    folder = lock_whole_folder(root)
    names = [d.name for d in folder.documents]
    assert names == [
        "project/README.md",
        "project/src/main.py",
        "project/src/pkg/core.py",
    ]
    skipped = dict(folder.skipped)
    assert skipped["binary or unreadable"] == 1  # logo.bin
    assert skipped["ignored folders"] == 3  # .git, node_modules, secrets/
    assert lock_whole_folder(root).documents[1].data == folder.documents[1].data
    assert [f.relative for f in scan_folder(root).files][:2] == ["README.md", "logo.bin"]


def test_locked_documents_survive_the_history_and_an_export_byte_for_byte(tmp_path):
    pdf = lock_file(make_pdf(tmp_path / "a.pdf", 2))
    folder = lock_whole_folder(make_project(tmp_path / "project"))
    conv = Conversation(model=SONNET_46)
    conv.add_user_text("Compare them.", pdf, *folder.documents)
    store = Store.open(tmp_path / "history")
    store.save_conversation(conv)
    store.save_messages(conv.id, list(enumerate(conv.messages)))
    loaded, _, _ = store.load(conv.id)
    store.close()
    again = Conversation.from_dict(json.loads(json.dumps(conv.to_dict())))
    for copy in (loaded, again):
        assert copy.messages[0].api_content == conv.messages[0].api_content
        assert isinstance(copy.messages[0].blocks[0].document, LockedDocument)


def test_smoke_test_attaches_and_the_follow_up_reads_the_documents_from_cache(tmp_path):
    pdf = make_pdf(tmp_path / "contract.pdf", 4)
    project = make_project(tmp_path / "project")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    env.pop("ANTHROPIC_API_KEY", None)
    args = [sys.executable, "-m", "app", "--data-dir", str(tmp_path / "data"), "--smoke-test"]
    done = subprocess.run(
        [*args, "--attach", str(pdf), str(project)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    kinds = [(a["kind"], a["blocks"]) for a in report["attachments"]]
    assert kinds == [("pdf", 1), ("folder", 3)] and report["attachments"][0]["pages"] == 4
    attached = sum(a["tokens"] for a in report["attachments"])
    assert len(report["turns"]) == 2 and report["turns"][1]["read"] >= attached

    refused = subprocess.run(
        [*args, "--attach", str(project / "logo.bin")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert refused.returncode == 2 and "binary" in refused.stderr


def test_thousands_of_mutated_pdfs_are_locked_or_refused_with_a_message(tmp_path):
    data = make_pdf(tmp_path / "seed.pdf", 2).read_bytes()
    rng = random.Random(14)
    refused = 0
    for i in range(3000):
        out = bytearray(data)
        kind = rng.randrange(3)
        if kind == 0:
            out = out[: rng.randrange(9, len(out))]
        elif kind == 1:
            for _ in range(rng.randrange(1, 12)):
                out[rng.randrange(9, len(out))] ^= 1 << rng.randrange(8)
        else:
            at = rng.randrange(9, len(out))
            out[at : at + 24] = bytes(rng.randrange(256) for _ in range(24))
        path = tmp_path / f"m{i % 10}.pdf"
        path.write_bytes(bytes(out))
        try:
            document = lock_file(path)
        except AttachmentError as exc:
            refused += 1
            assert path.name in str(exc) and "PDF" in str(exc), str(exc)
            continue
        assert document.is_pdf and document.pages >= 1
    assert refused > 0


def test_the_window_reads_pdfs_in_a_process_it_can_stop_and_remembers_the_result(
    tmp_path, monkeypatch
):
    from collections import OrderedDict

    from app.conversation import pdf_process
    from app.facts import documents as facts

    monkeypatch.setattr(facts, "_known", OrderedDict())  # nothing read yet
    data = make_pdf(tmp_path / "apart.pdf", 3).read_bytes()
    with pytest.raises(DocumentError) as caught:
        pdf_process.read_pdf_apart(data, timeout=0.001)  # a reader that takes too long is ended
    assert "took longer" in str(caught.value)
    found = pdf_process.read_pdf_apart(data)  # a fresh reader process
    assert found.pages == 3

    def never(_data):
        raise AssertionError("read again in this process")

    monkeypatch.setattr(facts, "read_pdf", never)
    assert facts.pdf_facts(data) == found  # building a request later reads nothing
    pdf_process.shutdown()


def test_a_pdf_opened_from_the_history_is_read_in_the_reader_process(tmp_path, monkeypatch):
    """The app reads PDFs apart: opening a saved conversation never runs pypdf in-process
    (it would hold the GIL on the writer thread while the window draws)."""
    from collections import OrderedDict

    from app.conversation import documents, pdf_process
    from app.facts import documents as facts

    conv = Conversation(model=SONNET_46)
    conv.add_user_text("Read it.", lock_document(make_pdf(tmp_path / "saved.pdf", 4)))
    store = Store.open(tmp_path)
    store.save_conversation(conv)
    store.save_messages(conv.id, list(enumerate(conv.messages)))
    monkeypatch.setattr(facts, "_known", OrderedDict())  # a new launch: nothing read yet

    def in_process(_data):
        raise AssertionError("pypdf ran in this process")

    monkeypatch.setattr(documents, "pdf_facts", in_process)
    monkeypatch.setattr(documents, "_READ_APART", False)
    documents.read_pdfs_apart()
    try:
        loaded = store.load(conv.id)[0]
    finally:
        documents.read_pdfs_apart(False)
        store.close()
        pdf_process.shutdown()
    (block,) = [b for b in loaded.messages[0].blocks if hasattr(b, "document")]
    assert block.document.pages == 4


def test_the_pane_shows_cards_not_the_documents_text(qapp, tmp_path):
    from app.ui.widgets.conversation_view import ConversationView
    from app.ui.widgets.untrusted import unbreak

    pdf = lock_file(make_pdf(tmp_path / "contract.pdf", 3))
    root = make_project(tmp_path / "project")
    (root / "src" / "extra.py").write_text("SECRET_BODY = 'not shown inline'\n")
    folder = lock_whole_folder(root)
    conv = Conversation(model=SONNET_46)
    conv.add_user_text("Compare them.", pdf, *folder.documents)
    view = ConversationView()
    view.show_conversation(conv)
    shown = unbreak(view.plain_text())
    assert "Document contract.pdf · 3 pages" in shown
    assert f"Folder project/ · {len(folder.documents)} files" in shown
    assert "SECRET_BODY" not in shown and "Read me first" not in shown
