"""Benchmark: what warming and keep-alive policies cost on human-timed sessions, and how fast.

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
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.perf.replay.policies import ANCHORS, POLICIES  # noqa: E402
from tests.perf.replay.runner import replay  # noqa: E402
from tests.perf.replay.trace import TraceError, load  # noqa: E402

TRACES = Path(__file__).resolve().parent / "traces"


def run(traces, policies) -> dict:
    out: dict = {"traces": {}}
    for trace in traces:
        entry: dict = {"policies": {}}
        for policy in policies:
            result = replay(trace, policy)
            if result.failures:
                raise RuntimeError(f"{trace.name} under {policy}: {result.failures[:3]}")
            entry["policies"][policy] = {
                "cost_usd": round(result.cost_usd, 6),
                "ttft_s": [round(t, 3) for t in result.ttft_s],
                "requests": result.requests,
            }
            entry["optimum_cost_usd"] = round(result.optimum_usd, 6)
            entry["simulated_s"] = round(result.simulated_s, 1)
        out["traces"][trace.name] = entry
    out["summary"] = summary(out["traces"], policies)
    return out


def summary(traces: dict, policies) -> dict:
    rows = {}
    for policy in policies:
        costs = [t["policies"][policy]["cost_usd"] for t in traces.values()]
        ratios = [
            t["policies"][policy]["cost_usd"] / t["optimum_cost_usd"] for t in traces.values()
        ]
        ttfts = [x for t in traces.values() for x in t["policies"][policy]["ttft_s"]]
        rows[policy] = {
            "cost_usd": round(sum(costs), 4),
            "p50_ttft_s": round(statistics.median(ttfts), 3),
            "worst_ttft_s": round(max(ttfts), 3),
            "max_over_optimum": round(max(ratios), 3),
            "mean_over_optimum": round(sum(ratios) / len(ratios), 3),
        }
    anchors = [p for p in policies if p in ANCHORS]
    if "cachescope" in rows and anchors:
        cheapest = min(anchors, key=lambda p: rows[p]["cost_usd"])
        fastest = min(anchors, key=lambda p: rows[p]["p50_ttft_s"])
        ours = rows["cachescope"]
        rows["targets"] = {
            "cheapest_anchor": cheapest,
            "cost_vs_cheapest_anchor": round(ours["cost_usd"] / rows[cheapest]["cost_usd"], 3),
            "fastest_anchor": fastest,
            "p50_vs_fastest_anchor": round(ours["p50_ttft_s"] / rows[fastest]["p50_ttft_s"], 3),
        }
    return rows


def table(result: dict, policies) -> str:
    lines = [
        "cost in dollars (x optimum) | p50 / worst TTFT from the click, simulated seconds",
        f"{'trace':24}{'optimum':>9}  " + "  ".join(f"{p:>22}" for p in policies),
    ]
    for name, entry in result["traces"].items():
        best = entry["optimum_cost_usd"]
        cells = []
        for p in policies:
            r = entry["policies"][p]
            cells.append(f"${r['cost_usd']:.3f} ({r['cost_usd'] / best:.2f}x)".rjust(22))
        lines.append(f"{name:24}{'$' + format(best, '.3f'):>9}  " + "  ".join(cells))
        ttfts = []
        for p in policies:
            t = entry["policies"][p]["ttft_s"]
            ttfts.append(f"{statistics.median(t):.2f} / {max(t):.2f} s".rjust(22))
        lines.append(" " * 35 + "  ".join(ttfts))
    lines.append("")
    for policy, row in result["summary"].items():
        lines.append(f"{policy:20} {row}")
    return "\n".join(lines)


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
