"""kill -9 at random moments of a chat: nothing the user sent is lost, the history stays whole.

The child (``tests/killed_child.py``) chats through the real window with a history; after a random
delay it is killed with SIGKILL (no handler, no shutdown), often while a reply streams or a save
is under way. Then the history must open (integrity check included), hold every message the child
had sent, and the next run must carry on in the same folder."""

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.storage.store import Store

ROOT = Path(__file__).resolve().parents[1]
RUNS = 5


def user_texts(folder: Path) -> set[str]:
    store = Store.open(folder)  # raises if the file was left damaged
    try:
        texts = set()
        for row in store.conversations():
            conversation, _records, _ledger = store.load(row.id)
            texts |= {m.text for m in conversation.messages if m.role == "user"}
        return texts
    finally:
        store.close()


@pytest.mark.timeout(180)
def test_kill_9_at_random_moments_loses_nothing_that_was_sent(tmp_path):
    rng = random.Random(20261123)
    log = tmp_path / "sent.log"
    killed_during = []
    for run in range(RUNS):
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.killed_child", str(tmp_path), str(log), str(run)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert child.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.3, 4.0))
        child.send_signal(signal.SIGKILL)
        child.wait(30)
        sent = [line for line in log.read_text().splitlines() if line]
        killed_during.append(len(sent))
        missing = set(sent) - user_texts(tmp_path)
        assert not missing, f"run {run}: sent but not in the history: {sorted(missing)}"
    assert killed_during[-1] > RUNS  # the runs did chat (and carried on in the same folder)
