"""Start the desktop app: find the key, start the simulator when there is none, show the window."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time


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
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser


def run(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    if args.smoke_test:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    os.environ.setdefault("QT_API", "pyside6")  # qasync binds to PySide6 whatever the order
    import qasync
    from PySide6.QtWidgets import QApplication

    from app.ui.main_window import APP_ID

    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationName("Cachescope")
    app.setDesktopFileName(APP_ID)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        return loop.run_until_complete(_main(app, args))


async def _main(app, args) -> int:
    import anthropic

    from app.caching.strategies import CacheSettings
    from app.conversation.conversation import Conversation
    from app.engine.engine import Engine, EngineSettings
    from app.engine.session import Session
    from app.facts.catalogue import default_catalogue
    from app.simulator.runner import SimulatorThread
    from app.simulator.server import SimulatorConfig
    from app.storage.preferences import Preferences, data_dir
    from app.ui.keys import find_key
    from app.ui.main_window import MainWindow

    started = time.perf_counter()
    folder = data_dir(args.data_dir)
    prefs = Preferences.load(folder)
    key, where = (None, "--simulator") if args.simulator else await find_key()
    simulator = None
    args.base_url = args.base_url or (prefs.base_url if key else None)
    if key is None and not args.base_url:
        simulator = SimulatorThread(SimulatorConfig(time_scale=args.sim_time_scale)).start()
        base_url, key, mode = simulator.base_url, "offline-simulator", f"Offline simulator: {where}"
    else:
        base_url = args.base_url
        mode = f"Claude API ({where})" if not args.base_url else f"API at {args.base_url}"
        key = key or "none"
    client = anthropic.AsyncAnthropic(api_key=key, base_url=base_url, max_retries=2)
    catalogue = default_catalogue()
    settings = EngineSettings(
        strategy=prefs.strategy,
        cache=CacheSettings(ttl=prefs.ttl),
        warming=prefs.warming,
        keepalive_pings=prefs.keepalive_pings,
    )
    engine = Engine(client, settings, catalogue=catalogue)
    model = args.model or prefs.model or catalogue.default_model
    conversation = Conversation(model=catalogue.require(model).id)
    window = MainWindow(engine, Session(conversation), mode, prefs)
    window.show()
    window.preferences_changed = lambda: window.prefs.save(folder)
    window._spawn(window.load_models())
    logging.getLogger(__name__).info("window shown after %.2f s", time.perf_counter() - started)
    try:
        if args.smoke_test:
            return await _smoke(window, mode)
        closed = asyncio.Event()
        app.lastWindowClosed.connect(closed.set)
        await closed.wait()
        return 0
    finally:
        await engine.shutdown()
        await client.close()
        if simulator is not None:
            simulator.stop()


async def _smoke(window, mode: str) -> int:
    window.composer.edit.setPlainText("Hello from the smoke test")
    finished = asyncio.Event()
    window.turn_finished.connect(finished.set)
    window.send()
    try:
        await asyncio.wait_for(finished.wait(), 60)
    except TimeoutError:
        print("smoke test: no reply within 60 s", file=sys.stderr)
        return 1
    usage = window.last_usage()
    reply = window.session.conversation.messages[-1]
    print(f"smoke test: mode={mode!r}; reply of {len(reply.text)} characters; usage {usage}")
    return 0 if usage is not None and reply.role == "assistant" else 1
