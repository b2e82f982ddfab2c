"""Start the desktop app: one instance per data folder, Qt and its event loop, the window shown
first, then the key, the API client (or the simulator) and the history; the smoke test if asked."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cachescope", description="Chat with Claude and see prompt caching at work."
    )
    parser.add_argument(
        "--simulator",
        action="store_true",
        help="use the built-in offline simulator even when an API key is set",
    )
    parser.add_argument("--base-url", help="talk to this Messages API base URL instead")
    parser.add_argument("--model", help="model id or alias for a new conversation")
    parser.add_argument(
        "--data-dir",
        help="where conversations and preferences live (default: $CACHESCOPE_DATA_DIR, "
        "else the platform's user data folder)",
    )
    parser.add_argument(
        "--sim-time-scale",
        type=float,
        default=0.2,
        help="delays of the built-in simulator (1.0 = the real service's)",
    )
    parser.add_argument(
        "--smoke-test",
        action="store_true",
        help="open the window offscreen, run one turn, print what it saw, exit",
    )
    parser.add_argument(
        "--attach",
        nargs="+",
        type=Path,
        metavar="PATH",
        help="with --smoke-test: attach these files or folders as the composer would, send a"
        " turn and a follow-up, print one JSON line",
    )
    parser.add_argument(
        "files",
        nargs="*",
        type=Path,
        metavar="FILE",
        help="files or folders to attach to a new draft (what 'Open with' passes)",
    )
    parser.add_argument("--exit-when-shown", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("-v", "--verbose", action="store_true", help="log more, to stderr too")
    return parser


def run(argv: list[str]) -> int:
    from app.storage.keys import take_environment_key

    take_environment_key()  # before any process is started: none inherits the key
    args = build_parser().parse_args(argv)
    from app.engine.connect import base_url_problem

    problem = base_url_problem(args.base_url)
    if problem is not None:  # refused before anything starts: the key would never be sent
        print(f"cachescope: {problem}", file=sys.stderr)
        return 2
    from app.storage.preferences import data_dir

    folder = data_dir(args.data_dir)
    from app.storage.instance_lock import AlreadyRunning, InstanceLock

    try:
        lock = InstanceLock(folder).acquire()
    except AlreadyRunning as exc:
        print(f"cachescope: {exc}", file=sys.stderr)
        return 4
    except OSError as exc:  # an unwritable folder: the history will say so; run without a lock
        logging.getLogger(__name__).warning("no instance lock in %s: %s", folder, exc)
        lock = None
    try:
        return _run_locked(args, folder)
    finally:
        if lock is not None:
            lock.release()


# What the window loads the first time it is used, never before it is shown (issue 37): the
# SDK, the replay, the inspector, the PDF reader, the price library, MCP.
LOADED_WHEN_USED = (
    "anthropic",
    "app.replay.runner",
    "app.inspect.proxy",
    "pypdf",
    "genai_prices",
    "mcp",
)

# Qt platforms that draw without a display server.
HEADLESS_PLATFORMS = ("offscreen", "minimal", "vnc", "eglfs", "linuxfb")


def display_problem(env: dict, platform: str = sys.platform, find=None) -> str | None:
    """Why Qt could not open a window here, before it tries (it aborts the process, rc 134,
    with a message about plugins): no display on Linux, or the xcb cursor library missing."""
    if not platform.startswith("linux"):
        return None
    chosen = env.get("QT_QPA_PLATFORM", "")
    if chosen.split(":")[0] in HEADLESS_PLATFORMS:
        return None
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        return (
            "no display to open a window on (neither DISPLAY nor WAYLAND_DISPLAY is set). Start "
            "it from a desktop session, or run the simulator alone with cachescope-sim."
        )
    if find is None:
        from ctypes.util import find_library as find
    if chosen in ("", "xcb") and not env.get("WAYLAND_DISPLAY") and find("xcb-cursor") is None:
        return (
            "Qt needs the xcb cursor library to open a window on X11: install it "
            "(Debian and Ubuntu: sudo apt install libxcb-cursor0)."
        )
    return None


def _run_locked(args, folder: Path) -> int:
    from app.storage.logs import configure_logging

    configure_logging(folder, args.verbose)
    if args.smoke_test:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    problem = display_problem(dict(os.environ))
    if problem is not None:
        print(f"cachescope: {problem}", file=sys.stderr)
        return 2
    os.environ.setdefault("QT_API", "pyside6")  # qasync binds to PySide6 whatever the order
    import qasync
    from PySide6.QtWidgets import QApplication

    from app.ui.binding_check import binding_problem, none_references_lost
    from app.ui.main_window import APP_ID

    problem = binding_problem(none_references_lost())
    app = QApplication.instance() or QApplication([sys.argv[0]])
    if problem is not None:  # said on stderr and in a box: a menu launch has no terminal
        print(f"cachescope: {problem}", file=sys.stderr)
        if not args.smoke_test:
            from PySide6.QtWidgets import QMessageBox

            QMessageBox.critical(None, "Cachescope cannot start", problem)
        return 3
    app.setApplicationName("Cachescope")
    app.setDesktopFileName(APP_ID)
    app.setWindowIcon(app_icon())
    # Closing the window ends _main (it waits for lastWindowClosed), which then flushes the
    # history and returns 0; Qt quitting on its own would stop the loop under it (exit 1).
    app.setQuitOnLastWindowClosed(False)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    from app.engine.quit_signals import QuitOnSignals

    quit_asked = asyncio.Event()  # the window closed, or SIGTERM, SIGINT, SIGHUP came
    signals = QuitOnSignals(loop, lambda _number: quit_asked.set()).install()
    try:
        with loop:
            code = loop.run_until_complete(_main(app, args, folder, quit_asked))
    except Exception:  # a bug: said in the log; every child was stopped on the way out
        logging.getLogger(__name__).critical("Cachescope stopped on an error", exc_info=True)
        return 1
    finally:
        signals.close()
    return signals.exit_code or code


def app_icon():
    """The window icon from the shipped SVG (a null icon if the SVG support is missing)."""
    from PySide6.QtGui import QIcon

    from app.facts.catalogue import resources_dir

    return QIcon(str(resources_dir() / "icons" / "cachescope.svg"))


def _rss_mb() -> float:
    """Resident memory now (Linux), else the peak so far."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _main(app, args, folder: Path, quit_asked: asyncio.Event) -> int:
    from app.conversation.conversation import Conversation
    from app.conversation.documents import read_pdfs_apart
    from app.engine.connect import BaseUrlRefused, connect
    from app.engine.engine import Engine
    from app.engine.session import Session
    from app.engine.settings import from_preferences
    from app.facts.catalogue import default_catalogue
    from app.history.sessions import learn_from_history, open_history
    from app.storage.keys import find_key
    from app.storage.preferences import load_preferences
    from app.ui.appearance import apply_appearance
    from app.ui.main_window import MainWindow
    from app.ui.memory import settle_memory
    from app.workspace.workspace import Workspace

    read_pdfs_apart()  # PDFs opened from the history too are read in the reader process
    started = time.perf_counter()
    log = logging.getLogger(__name__)
    prefs, prefs_notice = load_preferences(folder)  # a broken file is moved aside, once
    catalogue = default_catalogue(library=False)  # priced below, off the GUI thread
    model, notice = choose_model(catalogue, args.model, prefs.model)
    if model is None:
        print(f"cachescope: {notice}", file=sys.stderr)
        return 2
    notices = [n for n in (prefs_notice, notice) if n]  # said again once connected
    for said in notices:
        log.warning("%s", said)
    parts = Parts()  # what was started, stopped in the finally whatever happens in between
    try:
        engine = Engine(None, from_preferences(prefs), catalogue=catalogue)
        writer, problem = open_history(folder)
        parts.writer = writer
        workspace = parts.workspace = Workspace(
            engine, Session(Conversation(model=model.id)), writer
        )
        window = parts.window = MainWindow(workspace, prefs, folder, problem)
        apply_appearance(prefs.appearance)
        window.restore()
        window.show()
        app.lastWindowClosed.connect(quit_asked.set)  # the window may close while connecting
        if notices:
            window.notify(" ".join(notices))
        if args.files and not args.smoke_test:  # "Open with Cachescope", or on the command line
            window.attach(args.files)
        log.info("window shown after %.2f s", time.perf_counter() - started)
        if args.exit_when_shown:
            app.processEvents()
            shown = time.perf_counter() - started
            print(f"shown {shown:.3f} s, rss {_rss_mb():.0f} MB", flush=True)
            heavy = [m for m in LOADED_WHEN_USED if m in sys.modules]
            print(f"loaded before shown: {', '.join(heavy) or 'none'}", flush=True)
        learning = workspace.spawn(learn_from_history(writer, engine))
        key, where = (None, "--simulator") if args.simulator else await find_key()
        base_url = args.base_url or (prefs.base_url if key else None) or None
        try:
            client, mode, parts.simulator = await asyncio.to_thread(
                connect, key, where, base_url, args.sim_time_scale
            )
        except BaseUrlRefused as exc:  # ANTHROPIC_BASE_URL with a login: nothing was sent
            print(f"cachescope: {exc}", file=sys.stderr)
            return 2
        engine.adopt_catalogue(await asyncio.to_thread(default_catalogue))  # genai-prices' prices
        # With the real API the token counts the app shows come from its free count_tokens
        # endpoint; the built-in simulator counts with the estimator itself, so asking it would
        # add nothing.
        engine.count_tokens_with_api(parts.simulator is None)
        workspace.use_client(client, mode)
        if parts.simulator is not None:
            from app.engine.connect import FRESH_SIMULATOR

            notices.append(FRESH_SIMULATOR)
        if notices:  # the status line keeps one sentence: all of them, the first first
            window.notify(" ".join(notices))
        log.info("connected after %.2f s: %s", time.perf_counter() - started, mode)
        await learning
        await window.resume()  # the list, where the user left off, price updates if asked for
        settle_memory()
        if args.exit_when_shown:  # for tests/perf/ui.py: memory once connected, then leave
            print(f"connected {time.perf_counter() - started:.3f} s, rss {_rss_mb():.0f} MB")
            return 0
        if args.smoke_test:
            from app.ui.smoke import smoke_test

            return await smoke_test(window, mode, args.attach or args.files or [])
        await quit_asked.wait()
        return 0
    finally:
        await parts.stop()


class Parts:
    """What ``_main`` started, each stopped once, in an order that loses nothing: the window's
    state and preferences saved, then the workspace (its chats and their recorders, its tasks,
    the engine's requests, the tool servers), then the helper processes, the history (flushed),
    the client in use and the simulator. A step that fails or hangs is logged and the next one
    runs; parts never started are skipped."""

    STEP_LIMIT_S = 8.0

    def __init__(self):
        self.workspace = self.window = self.writer = self.simulator = None

    async def stop(self) -> None:
        from app.conversation.pdf_process import shutdown as stop_pdf_reader
        from app.ui.widgets.thumbnails import shutdown as stop_thumbnails

        window, writer, workspace = self.window, self.writer, self.workspace
        client = workspace.engine.client if workspace is not None else None
        steps = [
            ("window", window and _sync(window.closing)),
            ("workspace", workspace and workspace.shutdown),
            ("PDF reader", _sync(stop_pdf_reader)),
            ("thumbnail maker", _sync(stop_thumbnails)),
            ("history", writer and writer.flush),
            ("history file", writer and _sync(writer.close)),
            ("client", client and client.close),
            ("simulator", self.simulator and _sync(self.simulator.stop)),
        ]
        for name, step in steps:
            if not step:
                continue
            try:
                await asyncio.wait_for(step(), self.STEP_LIMIT_S)
            except Exception as exc:  # noqa: BLE001 - the next part must still be stopped
                logging.getLogger(__name__).warning("quitting: stopping the %s: %r", name, exc)


def _sync(fn):
    async def call():
        fn()

    return call


def choose_model(catalogue, asked: str | None, preferred: str):
    """(model, notice): the model to start with, and what to tell the user about the choice.
    A model named on the command line must be usable (None and why, else); one from the
    preferences that is unknown or retired falls back to the default with a notice."""
    usable = ", ".join(m.id for m in catalogue.usable)
    if asked:
        model = catalogue.resolve(asked)
        if model is None:
            return None, f"unknown model {asked!r}; models: {usable}"
        if model.retired:
            return (
                None,
                f"{asked} was retired on {(model.retires_at or '?')[:10]}; models: {usable}",
            )
        return model, ""
    default = catalogue.require(catalogue.default_model)
    if not preferred:
        return default, ""
    model = catalogue.resolve(preferred)
    if model is not None and not model.retired:
        return model, ""
    why = "retired" if model is not None else "unknown"
    return default, (
        f"The default model in your preferences ({preferred}) is {why}; using "
        f"{default.display_name}. Choose another in Settings → Preferences."
    )
