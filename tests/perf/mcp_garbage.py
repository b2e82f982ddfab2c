"""Benchmark: what an MCP server that writes garbage costs the app's log.

    python tests/perf/mcp_garbage.py [SECONDS]

The server (``tests/mcp_tiny_server.py --garbage``) writes lines that are not MCP on its stdout
without end and never answers the handshake; the hub waits SECONDS (default 15) for it, with the
app's own logging (``app/storage/logs.py``: the log file in a temporary data folder, warnings on
stderr, here a file). Prints the bytes of the log files and of stderr, the tracebacks in them,
and how many garbage lines the hub counted. Issue 40 measured 33.7 MB and 36,788 tracebacks on
stderr in 15 s, and the 3 x 1 MB log rotated past its start-up lines.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app.engine.mcp_hub import McpHub, ServerConfig  # noqa: E402
from app.storage.logs import configure_logging  # noqa: E402


def measure(seconds: float, folder: Path) -> dict:
    stderr_path = folder / "stderr.txt"
    saved = os.dup(2)
    with stderr_path.open("w") as err:
        os.dup2(err.fileno(), 2)
        try:
            configure_logging(folder, verbose=False)
            logging.getLogger("cachescope.start").warning("start-up line of this run")
            server = ServerConfig(
                "junk", sys.executable, (str(ROOT / "tests" / "mcp_tiny_server.py"), "--garbage")
            )
            hub = McpHub([server], start_timeout_s=seconds)
            started = time.perf_counter()
            state = asyncio.run(_start_and_stop(hub))
            took = time.perf_counter() - started
            logging.shutdown()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
    logs = sorted(p for p in folder.iterdir() if p.name.startswith("cachescope"))
    texts = {p.name: p.read_text(errors="replace") for p in logs}
    stderr = stderr_path.read_text(errors="replace")
    return {
        "seconds": round(took, 1),
        "status": state.status,
        "error": state.error,
        "log_files": {name: len(text.encode()) for name, text in texts.items()},
        "log_bytes": sum(len(t.encode()) for t in texts.values()),
        "stderr_bytes": len(stderr.encode()),
        "tracebacks": sum(t.count("Traceback") for t in texts.values()) + stderr.count("Traceback"),
        "start_up_line_kept": any("start-up line of this run" in t for t in texts.values()),
        "log_lines_about_junk": [
            line[24:][:160] for t in texts.values() for line in t.splitlines() if "junk" in line
        ][:6],
    }


async def _start_and_stop(hub: McpHub):
    state = await hub.start("junk")
    await hub.stop_all()
    await asyncio.to_thread(hub.close)
    return state


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 15.0
    with tempfile.TemporaryDirectory() as folder:
        print(json.dumps(measure(seconds, Path(folder)), indent=2))


if __name__ == "__main__":
    main()
