"""``cachescope-inspect``: a loopback endpoint in front of the Messages API that prints every
request's cache numbers as it passes.

    cachescope-inspect --port 8788 [--upstream URL | --simulator] [--json]
    ANTHROPIC_BASE_URL=http://127.0.0.1:8788 your-program

One line per ``POST /v1/messages`` (``--json``: one object with id, time, model, kind, read,
written_5m, written_1h, uncached, predicted_read, miss_reason, server_miss_reason, cost_usd,
session). The key is never stored or printed: sessions are told apart by its hash."""

from __future__ import annotations

import argparse
import asyncio
import sys

from aiohttp import web

from app.facts.catalogue import default_catalogue
from app.inspect.observer import Observer
from app.inspect.proxy import InspectProxy, print_line

API = "https://api.anthropic.com"


async def serve(args) -> int:
    runners = []
    upstream = args.upstream
    if args.simulator:
        from app.simulator.server import Simulator, SimulatorConfig

        sim_runner = web.AppRunner(
            Simulator(SimulatorConfig(time_scale=args.time_scale)).make_app(), access_log=None
        )
        await sim_runner.setup()
        site = web.TCPSite(sim_runner, "127.0.0.1", 0)
        await site.start()
        runners.append(sim_runner)
        upstream = f"http://127.0.0.1:{sim_runner.addresses[0][1]}"
    proxy = InspectProxy(upstream, Observer(default_catalogue()), print_line(args.json))
    runner = web.AppRunner(proxy.make_app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, args.host, args.port)
    await site.start()
    runners.append(runner)
    port = runner.addresses[0][1]
    print(f"http://{args.host}:{port} -> {upstream}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        for each in reversed(runners):
            await each.cleanup()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cachescope-inspect", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (loopback)")
    parser.add_argument("--port", type=int, default=8788, help="0 picks a free port")
    parser.add_argument("--upstream", default=API, help=f"where requests go (default {API})")
    parser.add_argument(
        "--simulator", action="store_true", help="in front of the built-in simulator instead"
    )
    parser.add_argument("--time-scale", type=float, default=1.0, help="the simulator's delays")
    parser.add_argument("--json", action="store_true", help="one JSON object per request")
    parser.add_argument(
        "--allow-remote", action="store_true", help="listen on an address other than loopback"
    )
    args = parser.parse_args(argv)
    from app.simulator.server import is_loopback

    if not is_loopback(args.host) and not args.allow_remote:
        print(
            f"cachescope-inspect: {args.host} is not a loopback address; the programs whose keys"
            " pass through would be reachable from elsewhere. Add --allow-remote to mean it.",
            file=sys.stderr,
        )
        return 2
    try:
        return asyncio.run(serve(args))
    except KeyboardInterrupt:
        return 0
    except OSError as exc:
        print(
            f"cachescope-inspect: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr
        )
        return 2


if __name__ == "__main__":
    sys.exit(main())
