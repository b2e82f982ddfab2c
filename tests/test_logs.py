"""The app's log cannot be flooded (issue 40, point 2): a run's first lines survive whatever
follows, repeats are counted in one line, and a server writing garbage leaves a few lines, not
tracebacks (it was 36,788 tracebacks, 33.7 MB, in 15 s, and the start-up lines rotated away)."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

import pytest

from app.engine.mcp_hub import McpHub, ServerConfig
from app.storage.logs import HEAD_BYTES, LOG_NAME, TAIL_BYTES, TAIL_NAME, configure_logging

SERVER = str(Path(__file__).resolve().parent / "mcp_tiny_server.py")


@pytest.fixture
def app_logging(tmp_path):
    """The app's logging into tmp_path; the root logger as it was afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level

    def configure():
        configure_logging(tmp_path, verbose=False)

    yield configure
    for handler in root.handlers:
        if handler not in handlers:
            handler.close()
    root.handlers[:] = handlers
    root.setLevel(level)


def log_text(folder: Path) -> str:
    return "".join(p.read_text() for p in sorted(folder.glob("cachescope*.log*")))


def test_the_first_lines_of_a_run_survive_a_flood_and_the_total_is_bounded(tmp_path, app_logging):
    app_logging()
    logging.getLogger("app.start").warning("window shown: the first line of this run")
    for n in range(60_000):  # about 6 MB of lines that all differ
        logging.getLogger("app.flood").warning("line %d of a flood %s", n, "x" * 60)
    logging.shutdown()
    head = (tmp_path / LOG_NAME).read_text()
    assert head.splitlines()[0].endswith("window shown: the first line of this run")
    assert head.rstrip().endswith(f"(the log of this run goes on in {TAIL_NAME})")
    assert "line 59999 of a flood" in (tmp_path / TAIL_NAME).read_text()  # the end is kept too
    total = sum(p.stat().st_size for p in tmp_path.glob("cachescope*"))
    assert total <= HEAD_BYTES + 2 * TAIL_BYTES + 1_000


def test_the_previous_run_is_kept_beside_this_one(tmp_path, app_logging):
    (tmp_path / LOG_NAME).write_text("the previous run's start\n")
    (tmp_path / "cachescope.log.1").write_text("an old rotation\n")
    app_logging()
    logging.getLogger("app.start").warning("this run")
    assert (tmp_path / "cachescope.previous.log").read_text() == "the previous run's start\n"
    assert "this run" in (tmp_path / LOG_NAME).read_text()
    assert not (tmp_path / "cachescope.log.1").exists()


def test_repeats_are_counted_in_one_line(tmp_path, app_logging):
    app_logging()
    for _ in range(10_000):
        logging.getLogger("app.noisy").error("the same complaint")
    logging.getLogger("app.noisy").error("something else")
    logging.shutdown()
    lines = (tmp_path / LOG_NAME).read_text().splitlines()
    assert len(lines) == 3, lines
    assert lines[0].endswith("the same complaint")
    assert lines[1].endswith("(the message above repeated 9,999 times)")
    assert lines[2].endswith("something else")


@pytest.mark.timeout(60)
def test_a_server_writing_garbage_leaves_a_line_per_cause_and_no_traceback(
    tmp_path, app_logging, capfd
):
    app_logging()
    logging.getLogger("app.start").warning("window shown: the first line of this run")
    junk = ServerConfig("junk", sys.executable, (SERVER, "--garbage"))
    hub = McpHub([junk], start_timeout_s=3)

    async def run():
        state = await hub.start("junk")
        await hub.stop_all()
        return state

    try:
        state = asyncio.run(run())
    finally:
        hub.close()
    logging.shutdown()
    text, stderr = log_text(tmp_path), capfd.readouterr().err
    assert state.status == "failed"
    assert "'this is not MCP: {{{ garbage line'" in state.error
    assert "Traceback" not in text and "Traceback" not in stderr
    assert text.splitlines()[0].endswith("window shown: the first line of this run")
    about_junk = [line for line in text.splitlines() if "'junk'" in line]
    assert len(about_junk) == 3, about_junk  # the first line, the failure, the count
    assert "wrote a line that is not MCP on its output" in about_junk[0]
    repeated = about_junk[-1].rsplit("repeated ", 1)[1].split(" times")[0]
    assert int(repeated.replace(",", "")) > 100
    assert len(text.encode()) < 5_000 and len(stderr.encode()) < 5_000
