"""``cachescope-inspect``: a loopback endpoint in front of the Messages API that prints every
request's cache numbers as it passes.

    cachescope-inspect --port 8788 [--upstream URL | --simulator] [--json]
                       [--keep-alive [--cap-usd-per-hour X]]
    ANTHROPIC_BASE_URL=http://127.0.0.1:8788 your-program

One line per ``POST /v1/messages`` (``--json``: one object with id, time, model, kind, read,
written_5m, written_1h, uncached, predicted_read, miss_reason, server_miss_reason, cost_usd,
session, status, complete, note, error, reason, rewrite, figures_known). The key is never stored
or printed: sessions are told apart by its hash; an ``--upstream`` with a login in it is refused
without printing its password.

``--keep-alive`` (off by default: without it the endpoint sends nothing of its own) keeps each
idle session's cached prefix warm with pings billed to its own key, as the app keeps its own
(``app.inspect.keepalive``), at most ``--cap-usd-per-hour`` dollars an hour over all sessions
(by default the app's cap on what it spends unasked)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import sys
from urllib.parse import urlsplit

from aiohttp import web

from app.facts.catalogue import default_catalogue
from app.facts.redact import RedactingFilter, has_login, redact
from app.inspect.keepalive import CAP_USD_PER_HOUR, KeepAlive
from app.inspect.lines import Line
from app.inspect.observer import Observer
from app.inspect.proxy import InspectProxy

API = "https://api.anthropic.com"
PROG = "cachescope-inspect"


class UsageError(Exception):
    """A bad argument: one line on stderr and exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        raise UsageError(message)


def print_line(as_json: bool):
    """How a line is printed: JSON (control characters escaped by JSON) or one line of text
    (control characters escaped by ``Line.text``)."""

    def show(line: Line) -> None:
        print(json.dumps(line.as_dict()) if as_json else line.text(), flush=True)

    return show


def port_number(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port (0 to 65535; 0 picks a free one)")
    return port


def at_least_zero(what: str = "", named: str = "0 or more"):
    """An argument type for a finite number, 0 or more (the simulator's time scale, the cap in
    dollars): ``what`` follows "is not a number" in one message, ``named`` says what it must be
    in the other."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number{what}") from None
        if not math.isfinite(value) or value < 0:
            raise argparse.ArgumentTypeError(f"{text} is not {named}")
        return value

    return parse


def check_upstream(url: str) -> tuple[str, int]:
    """The upstream's host and port, or a ``UsageError`` saying what is wrong with it."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        raise UsageError(f"--upstream {redact(url)}: its port is not a port") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"--upstream {redact(url)}: expected http://HOST[:PORT] or https://...")
    if parts.query or parts.fragment:
        raise UsageError(f"--upstream {redact(url)}: no query or fragment, only a base URL")
    if has_login(url):  # as the app refuses such a base URL (app.engine.connect)
        raise UsageError(
            f"--upstream {redact(url)} holds a login (user:password@): it would go upstream as an"
            " Authorization header the programs never sent, or clash with theirs. Give the URL"
            " without it."
        )
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


def is_itself(upstream: tuple[str, int], host: str, port: int) -> bool:
    """Whether the upstream is this endpoint (every request would come back to it)."""
    from app.simulator.server import is_loopback

    up_host, up_port = upstream
    if up_port != port:
        return False
    same = {host, "0.0.0.0", "::"}
    return up_host in same or (is_loopback(up_host) and (is_loopback(host) or host in same))


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = _Parser(prog=PROG, description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (loopback)")
    parser.add_argument("--port", type=port_number, default=8788, help="0 picks a free port")
    parser.add_argument("--upstream", default=API, help=f"where requests go (default {API})")
    parser.add_argument(
        "--simulator", action="store_true", help="in front of the built-in simulator instead"
    )
    parser.add_argument(
        "--time-scale", type=at_least_zero(), default=1.0, help="the simulator's delays"
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per request")
    parser.add_argument(
        "--allow-remote", action="store_true", help="listen on an address other than loopback"
    )
    parser.add_argument(
        "--keep-alive",
        action="store_true",
        help="keep idle sessions' cached prefixes warm with pings billed to their own keys",
    )
    parser.add_argument(
        "--cap-usd-per-hour",
        type=at_least_zero(" of dollars", "a sum of dollars (0 or more)"),
        default=None,
        help=f"what the pings may cost an hour in all (default ${CAP_USD_PER_HOUR:.2f})",
    )
    args = parser.parse_args(argv)
    if args.cap_usd_per_hour is not None and not args.keep_alive:
        raise UsageError("--cap-usd-per-hour caps the keep-alive: add --keep-alive")
    from app.simulator.server import is_loopback

    if not is_loopback(args.host) and not args.allow_remote:
        raise UsageError(
            f"{args.host} is not a loopback address; the programs whose keys pass through would"
            " be reachable from elsewhere. Add --allow-remote to mean it."
        )
    if not args.simulator:
        where = check_upstream(args.upstream)
        if args.port and is_itself(where, args.host, args.port):
            raise UsageError(
                f"--upstream {redact(args.upstream)} is this endpoint itself: every request"
                " would come back to it. Give the API's address, or another port."
            )
    return args


async def serve(args, started: asyncio.Event | None = None) -> int:
    runners = []
    upstream = args.upstream
    try:
        if args.simulator:
            from app.simulator.server import Simulator, SimulatorConfig

            sim_runner = web.AppRunner(
                Simulator(SimulatorConfig(time_scale=args.time_scale)).make_app(),
                access_log=None,
            )
            await sim_runner.setup()
            runners.append(sim_runner)
            await web.TCPSite(sim_runner, "127.0.0.1", 0).start()
            upstream = f"http://127.0.0.1:{sim_runner.addresses[0][1]}"
        observer = Observer(default_catalogue())
        keepalive = None
        if args.keep_alive:
            cap = CAP_USD_PER_HOUR if args.cap_usd_per_hour is None else args.cap_usd_per_hour
            keepalive = KeepAlive(observer, cap)
        proxy = InspectProxy(upstream, observer, print_line(args.json), keepalive=keepalive)
        runner = web.AppRunner(proxy.make_app(), access_log=None)
        await runner.setup()
        runners.append(runner)
        await web.TCPSite(runner, args.host, args.port).start()
        port = runner.addresses[0][1]
        if not args.simulator and is_itself(check_upstream(upstream), args.host, port):
            raise UsageError(f"--upstream {redact(upstream)} is this endpoint itself")
        host = f"[{args.host}]" if ":" in args.host else args.host
        said = f"; {keepalive.describe()}" if keepalive is not None else ""
        print(
            f"{PROG}: point programs at ANTHROPIC_BASE_URL=http://{host}:{port}"
            f" (requests go on to {redact(upstream)}){said}",
            file=sys.stderr if args.json else sys.stdout,
            flush=True,
        )
        if started is not None:
            started.set()
        await asyncio.Event().wait()
    finally:
        for each in reversed(runners):
            await each.cleanup()
    return 0


def _quiet_logging() -> None:
    """Warnings as one redacted line each on stderr (never a traceback, never a key)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"{PROG}: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("aiohttp").setLevel(logging.CRITICAL)  # a bad client is its own business


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse(argv)
    except UsageError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    _quiet_logging()
    try:
        return asyncio.run(serve(args))
    except KeyboardInterrupt:
        return 0
    except UsageError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(
            f"{PROG}: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":
    sys.exit(main())
