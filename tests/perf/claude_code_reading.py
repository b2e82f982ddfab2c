"""Benchmark: a 200 MB Claude Code session read in a stream, in bounded memory (issue 38).

    python tests/perf/claude_code_reading.py [--mb 200] [--dense] [--keep DIR]

Writes a made-up session of about ``--mb`` megabytes in a temporary folder (the line mix of a
tool-heavy session: each response three lines repeating its usage, tool results of 2 to 60 KB,
or 0.3 to 3 KB with ``--dense``, progress and snapshot lines, one line of 8 MB), then reads it
in a child process three ways and prints, for each, the seconds, the peak resident memory the
reading added (ru_maxrss after, less before) and the requests counted:

- ``stream``: ``app.agents.reading.read_session`` (the app's reader);
- ``poll``: the same file read live in ten slices, as a session still being written is;
- ``naive``: the file read whole and every line parsed into a list (what the stream avoids),
  for the ratio;

and how long the window's thread takes to draw what the dialog's worker read (offscreen).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {root!r})
from app.agents.calls import Pricer
from app.agents.reading import SessionReading, read_session
from app.caching.ledger import Usage
pricer = Pricer()
pricer.cost("claude-sonnet-4-6", 1.79e9, Usage())  # the price data loaded before measuring
path, how = sys.argv[1], sys.argv[2]
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
if how == "stream":
    reading = read_session(path, pricer)
    requests = len(reading.calls())
    run = reading.run()
    run.totals(); run.per_day(); run.per_mcp_server(); run.rewrites()
elif how == "poll":
    import os
    size = os.path.getsize(path)
    live = path + ".live"
    with open(path, "rb") as src, open(live, "wb") as dst:
        reading = SessionReading(live, pricer)
        for i in range(10):
            dst.write(src.read(size // 10 + 1)); dst.flush()
            reading.poll()
        reading.poll(final=True)
    os.remove(live)
    requests = len(reading.calls())
elif how == "view":  # the window's share: the snapshot made on the worker, drawn on the GUI
    import asyncio
    import os
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from pathlib import Path
    from PySide6.QtWidgets import QApplication
    from app.agents.browser import ClaudeCodeSessions
    from app.ui.features.claude_code.dialog import ClaudeCodeDialog
    qt = QApplication([])
    model = ClaudeCodeSessions([])
    model.open(Path(path))
    snapshot = model.snapshot()
    requests = len(snapshot.requests)
    dialog = ClaudeCodeDialog(model, None, asyncio.ensure_future)
    dialog.resize(1300, 700)
    dialog.show()
    qt.processEvents()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    dialog.show_snapshot(snapshot)
    qt.processEvents()
else:
    lines = [json.loads(l) for l in open(path, "rb").read().splitlines() if l.strip()]
    ids = [(l.get("message") or {{}}).get("id") for l in lines if l.get("type") == "assistant"]
    requests = len(set(ids))
took = time.perf_counter() - started
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"seconds": took, "added_mb": (after - before) / 1024, "requests": requests}}))
"""


def uuid(kind: str, n: int) -> str:
    """A uuid-shaped id (36 characters, as Claude Code writes them)."""
    return f"{n:08x}-{kind:0>4}-4000-8000-{n * 7:012x}"


def write_session(path: Path, megabytes: int, dense: bool = False) -> dict:
    """A made-up tool-heavy session of about ``megabytes`` MB; returns its counts. ``dense``:
    tool results of 0.3 to 3 KB, so many more requests and lines for the same bytes."""
    target = megabytes * 1_000_000
    base = {
        "isSidechain": False,
        "userType": "external",
        "cwd": "/home/dev/shop",
        "sessionId": "bench",
        "version": "2.0.61",
        "gitBranch": "main",
    }
    written = lines = requests = 0
    parent = None
    cached = 20_000
    second = 1_790_000_000
    filler = "lorem ipsum dolor sit amet, consectetur adipiscing elit " * 1100
    with open(path, "w", encoding="utf-8") as fh:

        def put(line: dict) -> None:
            nonlocal written, lines, parent
            text = json.dumps(line) + "\n"
            fh.write(text)
            written += len(text)
            lines += 1
            parent = line.get("uuid", parent)

        while written < target:
            requests += 1
            stamp = f"2026-11-{16 + (second - 1_790_000_000) // 86400:02d}T10:00:00.000Z"
            size = 300 + (requests * 7919) % 2_700 if dense else 2_000 + (requests * 7919) % 58_000
            if requests == 500:
                size = 8_000_000  # one huge tool result (a file read whole)
            content = [{"type": "tool_result", "tool_use_id": f"t{requests}", "content": ""}]
            content[0]["content"] = (filler * (size // len(filler) + 1))[:size]
            put(
                {
                    **base,
                    "parentUuid": parent,
                    "type": "user",
                    "uuid": uuid("u", requests),
                    "timestamp": stamp,
                    "message": {"role": "user", "content": content},
                }
            )
            put({"type": "progress", "uuid": uuid("p", requests), "parentUuid": parent, "data": {}})
            usage = {
                "input_tokens": 3,
                "cache_read_input_tokens": cached,
                "cache_creation_input_tokens": size // 4,
                "cache_creation": {"ephemeral_5m_input_tokens": size // 4},
                "output_tokens": 300,
            }
            cached += size // 4
            if cached > 150_000:
                cached = 20_000
            for block in range(3):
                put(
                    {
                        **base,
                        "parentUuid": parent,
                        "type": "assistant",
                        "uuid": uuid(f"a{block}", requests),
                        "timestamp": stamp,
                        "requestId": f"req_{requests}",
                        "message": {
                            "id": f"msg_{requests}",
                            "model": "claude-sonnet-4-6",
                            "role": "assistant",
                            "content": [
                                {"type": "tool_use", "name": "mcp__github__get_file", "id": "x"}
                                if block == 2
                                else {"type": "text", "text": "Reading the file."}
                            ],
                            "usage": usage,
                        },
                    }
                )
            if requests % 50 == 0:
                put({"type": "file-history-snapshot", "messageId": "m", "snapshot": {}})
            second += 7
    return {"bytes": written, "lines": lines, "requests": requests}


def measure(path: Path, how: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", CHILD.format(root=str(ROOT)), str(path), how],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--keep", type=Path, help="write the session here instead")
    parser.add_argument("--dense", action="store_true", help="small tool results: more requests")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="cachescope-bench-"))
    path = folder / "bench-session.jsonl"
    started = time.perf_counter()
    counts = write_session(path, args.mb, args.dense)
    print(
        f"session: {counts['bytes'] / 1e6:.0f} MB, {counts['lines']:,} lines,"
        f" {counts['requests']:,} requests (written in {time.perf_counter() - started:.1f} s)"
    )
    results = {how: measure(path, how) for how in ("stream", "poll", "naive")}
    view = measure(path, "view")
    for how, r in results.items():
        print(
            f"{how:7} {r['seconds']:6.2f} s  {counts['bytes'] / 1e6 / r['seconds']:6.0f} MB/s"
            f"  peak memory added {r['added_mb']:7.1f} MB  requests {r['requests']:,}"
        )
    print(
        f"the view draws the {view['requests']:,} rows of the snapshot the worker made in"
        f" {view['seconds'] * 1000:.0f} ms on the GUI thread"
    )
    ratio = results["naive"]["added_mb"] / max(1.0, results["stream"]["added_mb"])
    print(f"the naive read needs {ratio:.1f}x the stream's memory")
    if args.keep is None:
        path.unlink()
        folder.rmdir()


if __name__ == "__main__":
    main()
