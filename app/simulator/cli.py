"""``cachescope-sim``: serve the offline Messages API simulator."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from aiohttp import web

from app.facts.catalogue import load_catalogue
from app.simulator.faults import FaultPlan, parse_fault_spec
from app.simulator.server import Simulator, SimulatorConfig, is_loopback


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cachescope-sim",
        description="An offline Anthropic Messages API that applies the real prompt-caching rules. "
        "Point any client at it with ANTHROPIC_BASE_URL=http://HOST:PORT.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (0 picks a free one)")
    parser.add_argument(
        "--time-scale", type=float, default=1.0, help="multiply every simulated delay (0 = instant)"
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="NAME[:P]",
        help="inject a fault into a share P of requests, e.g. overloaded:0.2",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for random faults")
    parser.add_argument(
        "--retry-after",
        type=int,
        default=1,
        help="seconds sent in retry-after with simulated rate limits",
    )
    parser.add_argument("--models-file", help="a models.json to use instead of the shipped one")
    parser.add_argument(
        "--allow-remote", action="store_true", help="allow binding to a non-loopback address"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not is_loopback(args.host) and not args.allow_remote:
        print(
            f"cachescope-sim: refusing to bind to {args.host}, which is not a loopback "
            "address; pass --allow-remote to do it anyway",
            file=sys.stderr,
        )
        return 2
    if args.time_scale < 0:
        print("cachescope-sim: --time-scale must be 0 or more", file=sys.stderr)
        return 2
    try:
        odds = [parse_fault_spec(spec) for spec in args.fault]
        catalogue = load_catalogue(args.models_file) if args.models_file else None
    except (ValueError, OSError, KeyError) as exc:
        print(f"cachescope-sim: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    config = SimulatorConfig(
        time_scale=args.time_scale,
        retry_after_s=args.retry_after,
        faults=FaultPlan(odds, seed=args.seed),
        catalogue=catalogue,
    )
    try:
        asyncio.run(_serve(Simulator(config), args.host, args.port, args.verbose))
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"cachescope-sim: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    return 0


async def _serve(sim: Simulator, host: str, port: int, verbose: bool) -> None:
    runner = web.AppRunner(
        sim.make_app(), access_log=logging.getLogger("aiohttp.access") if verbose else None
    )
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    bound = runner.addresses[0][1]
    shown = f"[{host}]" if ":" in host else host
    print(f"http://{shown}:{bound}", flush=True)
    print(
        f"cachescope-sim: serving the Messages API; set ANTHROPIC_BASE_URL=http://{shown}:{bound}",
        file=sys.stderr,
        flush=True,
    )
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    sys.exit(main())
