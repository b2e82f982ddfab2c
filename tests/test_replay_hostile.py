"""Hostile files against ``cachescope-replay`` (issue 36, point 14): every bad file is one line on
stderr and exit code 2 within a second, and nothing but a regular file is read. Bounded in time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.replay.cli import main as replay_main
from app.replay.trace import TraceError, parse
from tests.helpers import SONNET_46

pytestmark = pytest.mark.timeout(60)
ROOT = Path(__file__).resolve().parents[1]


def trace(**changes) -> dict:
    data = {
        "name": "hostile",
        "model": SONNET_46,
        "system_tokens": 2000,
        "events": [{"wait": 0, "do": "send", "tokens": 20, "reply_tokens": 50}],
    }
    return {**data, **changes}


def send(**changes) -> dict:
    return {"events": [{"wait": 0, "do": "send", "tokens": 20, "reply_tokens": 50, **changes}]}


RAW = '{"name": "raw", "model": "claude-sonnet-4-6", "events": [{"do": "send", %s}]}'  # noqa: UP031
BAD_TRACES = {
    "unknown model": trace(model="claude-unknown-9"),
    "empty model": trace(model=""),
    "retired model": trace(model="claude-3-haiku-20240307"),
    "events a number": trace(events=5),
    "events null": trace(events=None),
    "tokens Infinity": RAW % '"tokens": Infinity, "reply_tokens": 5',
    "tokens NaN": RAW % '"tokens": NaN, "reply_tokens": 5',
    "tokens 1e300": trace(**send(tokens=1e300)),
    "tokens 1e12": trace(**send(tokens=1e12)),
    "reply over the output limit": trace(**send(reply_tokens=10**7)),
    "wait Infinity": RAW % '"wait": 1e999, "tokens": 5, "reply_tokens": 5',
    "huge image": trace(
        events=[
            {"do": "attach", "image": [10**9, 10**9]},
            {"do": "send", "tokens": 2, "reply_tokens": 2},
        ]
    ),
    "over the context window": trace(
        events=[{"do": "send", "tokens": 600_000, "reply_tokens": 5}] * 2
    ),
    "ten thousand turns": trace(events=[{"do": "send", "tokens": 1, "reply_tokens": 1}] * 10_000),
    "nested too deeply": "[" * 100_000 + "]" * 100_000,
}


@pytest.mark.parametrize("case", list(BAD_TRACES))
def test_every_bad_trace_is_one_line_and_exit_2_within_a_second(case, tmp_path, capsys):
    """36.14: 11 tracebacks, 3 hangs, NaN and 1e300 priced as if valid."""
    data = BAD_TRACES[case]
    path = tmp_path / "bad.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    started = time.perf_counter()
    assert replay_main([str(path)]) == 2
    took = time.perf_counter() - started
    said = capsys.readouterr().err
    assert said.startswith("cachescope-replay: ") and said.count("\n") == 1, said
    assert "Traceback" not in said and took < 10.0, (took, said)  # a hang, not a speed


def test_a_million_turns_a_fifo_and_dev_zero_are_refused_without_reading_them(tmp_path, capsys):
    """36.14: a million turns hung; a FIFO or /dev/zero was read whole (forever)."""
    million = tmp_path / "million.json"
    one = '{"do":"send","tokens":1,"reply_tokens":1}'
    million.write_text(
        json.dumps({"name": "m", "model": SONNET_46, "events": []})[:-2]
        + ",".join([one] * 10**6)
        + "]}"
    )
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for path in (million, fifo, Path("/dev/zero"), tmp_path):
        started = time.perf_counter()
        assert replay_main([str(path)]) == 2, path
        said = capsys.readouterr().err
        took = time.perf_counter() - started  # a bound on a hang (it read forever), not a speed
        assert took < 10.0 and said.count("\n") == 1, (took, said)
    # The command itself, in its own process, does not wait for a writer on the FIFO.
    done = subprocess.run(
        [sys.executable, "-m", "app.replay.cli", str(fifo)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 2 and "not a regular file" in done.stderr


def test_the_context_window_is_checked_along_each_branch_not_over_all_of_them():
    """A conversation whose branches each fit (three answers to the start, 90,000 tokens each)
    is replayed; one whose path grows past the window is refused, naming the event."""

    def trace(*sends):
        events = [{"wait": 1, "do": "send", "reply_tokens": 10, **s} for s in sends]
        return {"name": "b", "model": "claude-haiku-4-5-20251001", "events": events}

    branches = trace(
        {"tokens": 90_000}, {"tokens": 90_000, "after": 0}, {"tokens": 90_000, "after": 0}
    )
    assert parse(branches).sends == 3
    regenerated = trace({"tokens": 90_000}, {"tokens": 90_000}, {"do": "regenerate", "of": 2})
    assert parse(regenerated).sends == 3
    with pytest.raises(TraceError, match="event 3: the conversation reaches about 270,030 tokens"):
        parse(trace({"tokens": 90_000}, {"tokens": 90_000, "after": 1}, {"tokens": 90_000}))
