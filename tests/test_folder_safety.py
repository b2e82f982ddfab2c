"""Folders are read inside the folder, special files are never opened for a read that can
block, and no read goes past its limit (issue 25, points 5, 6, 7 and 13): a linked credentials
file, a FIFO, a link to /dev/zero, a file that grows after the scan, a non-UTF-8 name."""

import os
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.conversation.attachments import AttachmentError, lock_file, lock_whole_folder
from app.conversation.documents import (
    MAX_FOLDER_FILE_BYTES,
    OUTSIDE,
    SPECIAL,
    TOO_BIG,
    lock_folder,
    scan_folder,
)
from app.conversation.images import ImageError, lock_image


def within(seconds: float, work):
    """Run ``work`` in a thread; fail (not hang) when it blocks longer than ``seconds``."""
    out: dict = {}

    def run():
        try:
            out["value"] = work()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            out["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"blocked for more than {seconds} s"
    if "error" in out:
        raise out["error"]
    return out["value"]


@pytest.fixture
def hostile(tmp_path):
    """A project folder with one good file and every trap the issue names."""
    secret = tmp_path / "credentials"
    secret.write_text("aws_secret_access_key = do-not-send\n")
    root = tmp_path / "project"
    (root / "src").mkdir(parents=True)
    (root / "src" / "main.py").write_text("print('hello')\n")
    (root / "inside.txt").write_text("kept\n")
    (root / "notes.md").symlink_to(secret)  # an innocent name for an outside file
    (root / "again.txt").symlink_to(root / "inside.txt")  # a link inside the folder is fine
    (root / "self").symlink_to("/proc/self/environ")
    (root / "zero.txt").symlink_to("/dev/zero")
    os.mkfifo(root / "pipe.txt")
    (root / os.fsdecode(b"caf\xe9.txt")).write_text("latin-1 named\n")
    return root


def test_a_folder_with_outside_links_and_a_fifo_attaches_the_rest_and_says_what_it_skipped(
    hostile,
):
    folder = within(10, lambda: lock_whole_folder(hostile))
    names = [d.name for d in folder.documents]
    assert names == [
        "project/again.txt",
        "project/caf\ufffd.txt",
        "project/inside.txt",
        "project/src/main.py",
    ]
    sent = b"".join(d.data for d in folder.documents)
    assert b"do-not-send" not in sent and b"ANTHROPIC" not in sent
    skipped = dict(folder.skipped)
    assert skipped[OUTSIDE] == 3  # the credentials, /proc/self/environ, /dev/zero
    assert skipped[SPECIAL] == 1  # the FIFO
    # Every name can be sent and stored: none keeps the file system's undecodable bytes.
    for document in folder.documents:
        document.name.encode("utf-8")


def test_a_fifo_or_a_device_attached_alone_is_refused_at_once(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for path in (fifo, Path("/dev/zero")):
        with pytest.raises(AttachmentError, match="not a regular file"):
            within(5, lambda p=path: lock_file(p))
    with pytest.raises(ImageError, match="not a regular file"):
        within(5, lambda: lock_image(fifo))


def test_a_file_that_grows_after_the_scan_is_read_only_to_the_limit(tmp_path):
    root = tmp_path / "repo"
    root.mkdir()
    grows = root / "log.txt"
    grows.write_text("small\n")
    scan = scan_folder(root)
    with open(grows, "ab") as f:  # past the limit once the scan has looked
        f.write(b"y" * (MAX_FOLDER_FILE_BYTES + 10))
    documents, skipped = lock_folder(scan)
    assert documents == [] and skipped == {TOO_BIG: 1}


def test_a_file_swapped_for_a_link_after_the_scan_is_not_followed(tmp_path):
    root = tmp_path / "repo"
    root.mkdir()
    (tmp_path / "secret").write_text("outside\n")
    target = root / "a.txt"
    target.write_text("inside\n")
    scan = scan_folder(root)
    target.unlink()
    target.symlink_to(tmp_path / "secret")
    documents, skipped = lock_folder(scan)
    assert documents == [] and sum(skipped.values()) == 1


ENTRY = st.sampled_from(["file", "link-in", "link-out", "link-dir", "fifo", "dev", "bad-name"])


@pytest.mark.timeout(90)
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(entries=st.lists(st.tuples(ENTRY, st.integers(0, 2)), min_size=1, max_size=12))
def test_any_tree_of_links_and_special_files_reads_only_regular_files_inside(
    tmp_path_factory, entries
):
    base = tmp_path_factory.mktemp("tree")
    outside = base / "outside.txt"
    outside.write_text("OUTSIDE-SECRET\n")
    root = base / "root"
    dirs = [root, root / "a", root / "a" / "b"]
    for d in dirs:
        d.mkdir(parents=True, exist_ok=True)
    regular = 0
    for i, (kind, depth) in enumerate(entries):
        here = dirs[depth] / f"e{i}.txt"
        if kind == "file":
            here.write_text(f"inside {i}\n")
            regular += 1
        elif kind == "link-in":
            here.symlink_to(dirs[0] / "a")  # a link to a folder inside: skipped, never walked
        elif kind == "link-out":
            here.symlink_to(outside)
        elif kind == "link-dir":
            here.symlink_to(base)  # a folder above: would walk out of the root
        elif kind == "fifo":
            os.mkfifo(here)
        elif kind == "dev":
            here.symlink_to("/dev/urandom")
        else:
            (dirs[depth] / os.fsdecode(b"n\xff%d.txt" % i)).write_text(f"odd {i}\n")
            regular += 1
    if regular == 0:
        with pytest.raises(AttachmentError):
            within(10, lambda: lock_whole_folder(root))
        return
    folder = within(10, lambda: lock_whole_folder(root))
    assert len(folder.documents) == regular
    for document in folder.documents:
        assert b"OUTSIDE-SECRET" not in document.data
        document.name.encode("utf-8")
