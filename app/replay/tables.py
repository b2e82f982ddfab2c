"""The replay's table, as ``tests/perf/sessions.py`` and ``cachescope-replay`` print it: every
trace under every policy, dollars (against the hindsight optimum) and time to first token from the
user's click, in simulated seconds; ``--json`` is one object with the same keys."""

from __future__ import annotations

import statistics

from app.replay.policies import ANCHORS
from app.replay.runner import replay


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
