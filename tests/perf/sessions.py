"""Benchmark: what warming and keep-alive policies cost on human-timed sessions, and how fast.
A thin caller of ``app.replay`` (the replay, its policies and its table live in the app, which
also offers them as ``cachescope-replay`` and Conversation → What would it have cost).

    python tests/perf/sessions.py [--traces DIR] [--json] [--policies a,b,...] [--wait-usd-per-s X]

Each trace (``tests/perf/traces/*.json``, format in ``tests/perf/replay/trace.py``) is replayed
through the simulator under every policy (``tests/perf/replay/policies.py``), in simulated time:
the simulator and the client share a loop whose clock jumps over idle time, so a two-hour session
takes well under a second, and every latency is the simulator's calibrated model
(``app.facts.timing``). Dollars are the simulator's own bill: every request (turns, warm-ups,
pings), input and output. TTFT is measured from the user's click to the first token.
``optimum_cost_usd`` is the hindsight lower bound of ``tests/perf/replay/optimum.py``.

``--json`` prints one line:
    {"traces": {NAME: {"policies": {POLICY: {"cost_usd": x, "ttft_s": [..]}},
                       "optimum_cost_usd": y}}, "summary": {...}}
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from app.replay.policies import POLICIES  # noqa: E402
from app.replay.tables import run, table  # noqa: E402
from app.replay.trace import TraceError, load  # noqa: E402

TRACES = Path(__file__).resolve().parent / "traces"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--traces", type=Path, default=TRACES)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--policies", default=",".join(POLICIES))
    parser.add_argument(
        "--wait-usd-per-s",
        type=float,
        default=None,
        help="what cachescope takes a second of waiting to be worth (default: the app's)",
    )
    args = parser.parse_args()
    POLICIES["cachescope"].wait_usd_per_s = args.wait_usd_per_s
    policies = [p for p in args.policies.split(",") if p]
    unknown = [p for p in policies if p not in POLICIES]
    if unknown:
        parser.error(f"unknown policies {unknown}; known: {', '.join(POLICIES)}")
    try:
        traces = load(args.traces)
    except TraceError as exc:
        print(f"sessions.py: {exc}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    result = run(traces, policies)
    result["real_s"] = round(time.perf_counter() - started, 1)
    print(json.dumps(result) if args.json else table(result, policies))
    return 0


if __name__ == "__main__":
    sys.exit(main())
