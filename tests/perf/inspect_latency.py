"""Benchmark: what ``cachescope-inspect`` adds to each request and to each stream event, at 1, 100
and 1,000 concurrent clients, and its memory over 100,000 requests.

    python tests/perf/inspect_latency.py [--clients 1,100,1000] [--probes 200]
    python tests/perf/inspect_latency.py --memory 100000
    python tests/perf/inspect_latency.py --sequential 250

Three processes, as in use: an upstream that answers at once with canned Messages API replies
(so only the inspector's own cost is measured, not the simulator's), the inspector as its command
line runs it (``--json``, its lines to /dev/null), and this driver.

Latency: for each number of clients, that many streams run at once (each event stamped by the
upstream with the system's monotonic clock when it is written, and timed on arrival), while a
probe sends one ordinary request at a time (a 3,400-token system prompt with a breakpoint) and
times its round trip. The same run goes once straight to the upstream and once through the
inspector, and once through it on a path it does not observe (forwarding alone), three rounds of
each; the difference of the medians (p50) and of the 99th percentiles
(p99) in each round is what the inspector adds, per request and per event, and the median of the
rounds' differences is printed with their range.

Memory: 100,000 requests from 8 programs (API keys), each running conversations of 30 turns with
a breakpoint on its last user message and a new system prompt for each conversation (so nearly
every request writes a new cache entry); the inspector's resident memory every 10,000 requests."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402

SYSTEM = "A long contract, clause after clause. " * 360  # about 3,400 tokens
USAGE = {
    "input_tokens": 12,
    "output_tokens": 40,
    "cache_read_input_tokens": 3400,
    "cache_creation_input_tokens": 0,
    "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
}
REPLY = json.dumps(
    {
        "id": "msg_bench",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-6",
        "content": [{"type": "text", "text": "Clause 1 says the tenant pays."}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": USAGE,
    }
).encode()


# -- the upstream (its own process) ---------------------------------------------------------------
async def answer(request: web.Request) -> web.StreamResponse:
    body = await request.read()
    if b'"stream": true' not in body:
        await asyncio.sleep(float(request.headers.get("x-bench-delay-ms", "0")) / 1000)
        return web.Response(body=REPLY, content_type="application/json")
    events = int(request.headers.get("x-bench-events", "20"))
    interval = float(request.headers.get("x-bench-interval-ms", "100")) / 1000
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    start = {"type": "message_start", "message": {"id": "msg_bench", "usage": USAGE}}
    await response.write(f"event: message_start\ndata: {json.dumps(start)}\n\n".encode())
    for _ in range(events):
        await asyncio.sleep(interval)
        delta = (
            '{"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", '
            f'"text": "word "}}, "t": {time.monotonic_ns()}}}'
        )
        await response.write(f"event: content_block_delta\ndata: {delta}\n\n".encode())
    end = {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": USAGE}
    await response.write(f"event: message_delta\ndata: {json.dumps(end)}\n\n".encode())
    await response.write(b'event: message_stop\ndata: {"type": "message_stop"}\n\n')
    await response.write_eof()
    return response


def serve_upstream() -> None:
    async def main():
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/messages", answer)
        app.router.add_post("/v1/unwatched", answer)
        runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0, backlog=4096).start()
        print(runner.addresses[0][1], flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


# -- the processes -------------------------------------------------------------------------------
class Processes:
    def __init__(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.upstream = subprocess.Popen(
            [sys.executable, __file__, "--serve-upstream"], stdout=subprocess.PIPE, text=True
        )
        self.upstream_url = f"http://127.0.0.1:{self.upstream.stdout.readline().strip()}"
        self.inspector = subprocess.Popen(
            [sys.executable, "-m", "app.inspect.cli", "--port", "0", "--json"]
            + ["--upstream", self.upstream_url],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
        )
        start = self.inspector.stderr.readline()
        self.inspector_url = start.split("ANTHROPIC_BASE_URL=")[1].split()[0]
        threading.Thread(target=self.inspector.stderr.read, daemon=True).start()

    def inspector_rss_mb(self) -> float:
        status = Path(f"/proc/{self.inspector.pid}/status").read_text()
        line = next(x for x in status.splitlines() if x.startswith("VmRSS:"))
        return int(line.split()[1]) / 1024

    def close(self) -> None:
        for child in (self.inspector, self.upstream):
            child.terminate()
            child.wait(10)


# -- latency ------------------------------------------------------------------------------------
BODY = {
    "model": "claude-sonnet-4-6",
    "max_tokens": 100,
    "system": [{"type": "text", "text": SYSTEM, "cache_control": {"type": "ephemeral"}}],
    "messages": [{"role": "user", "content": "What is clause 1?"}],
}


async def one_stream(
    session, base: str, events: int, interval_ms: float, out: list, path: str = "/v1/messages"
) -> None:
    headers = {
        "x-api-key": "bench",
        "anthropic-version": "2023-06-01",
        "x-bench-events": str(events),
        "x-bench-interval-ms": str(interval_ms),
    }
    body = {**BODY, "stream": True}
    async with session.post(base + path, json=body, headers=headers) as response:
        async for line in response.content:
            if line.startswith(b"data:") and b'"t": ' in line:
                arrived = time.monotonic_ns()
                sent = int(line.rsplit(b'"t": ', 1)[1].rstrip(b"}\r\n"))
                out.append((arrived - sent) / 1e6)


UPSTREAM_MS = 0.0  # how long the canned upstream takes to answer a probe (--upstream-ms)


async def probe(session, base: str, count: int, out: list, path: str = "/v1/messages") -> None:
    headers = {
        "x-api-key": "probe",
        "anthropic-version": "2023-06-01",
        "x-bench-delay-ms": str(UPSTREAM_MS),
    }
    for _ in range(count):
        started = time.perf_counter()
        async with session.post(base + path, json=BODY, headers=headers) as response:
            await response.read()
        out.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(0.01)


async def latency_run(
    base: str, clients: int, probes: int, path: str = "/v1/messages"
) -> tuple[list, list]:
    """Per-event one-way times of ``clients`` concurrent streams, and the probe's round trips
    (``path``: /v1/unwatched passes through the inspector without being observed)."""
    interval = {1: 20.0, 100: 100.0}.get(clients, 250.0)
    events = max(20, int(probes * 30 / interval))  # the streams outlast the probe
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        await probe(session, base, 100, [], path)  # warm both paths (prices, catalogue, pools)
        event_ms: list[float] = []
        request_ms: list[float] = []
        streams = []
        for _ in range(clients):
            streams.append(
                asyncio.create_task(one_stream(session, base, events, interval, event_ms))
            )
            await asyncio.sleep(interval / 1000 / clients)  # spread over one interval
        await asyncio.sleep(0.5)
        await probe(session, base, probes, request_ms, path)
        await asyncio.gather(*streams)
    return event_ms, request_ms


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def latency(clients_list: list[int], probes: int, rounds: int) -> dict:
    """Each number of clients in ``rounds`` rounds, each round straight then through; the
    figures are the median over the rounds of each round's own difference (this machine is
    shared, and one round can be slowed from outside), with their range."""
    procs = Processes()
    result = {}
    keys = ("request_ms_p50", "request_ms_p99", "event_ms_p50", "event_ms_p99")
    try:
        for clients in clients_list:
            added: dict[str, list[float]] = {k: [] for k in keys}
            forwarding: dict[str, list[float]] = {k: [] for k in keys}
            direct_p50, through_p50 = [], []
            for _ in range(rounds):
                row = {}
                targets = (
                    ("direct", procs.upstream_url, "/v1/messages"),
                    ("through", procs.inspector_url, "/v1/messages"),
                    ("unobserved", procs.inspector_url, "/v1/unwatched"),
                )
                for name, base, path in targets:
                    events, requests = asyncio.run(latency_run(base, clients, probes, path))
                    row[name] = {
                        "request_ms_p50": statistics.median(requests),
                        "request_ms_p99": percentile(requests, 0.99),
                        "event_ms_p50": statistics.median(events),
                        "event_ms_p99": percentile(events, 0.99),
                    }
                for k in keys:
                    added[k].append(row["through"][k] - row["direct"][k])
                    forwarding[k].append(row["unobserved"][k] - row["direct"][k])
                direct_p50.append(row["direct"]["request_ms_p50"])
                through_p50.append(row["through"]["request_ms_p50"])
            summary = {
                "direct_request_ms_p50": round(statistics.median(direct_p50), 3),
                "through_request_ms_p50": round(statistics.median(through_p50), 3),
                "added_ms": {k: round(statistics.median(v), 3) for k, v in added.items()},
                "added_ms_range": {
                    k: [round(min(v), 3), round(max(v), 3)] for k, v in added.items()
                },
                "forwarding_only_added_ms": {
                    k: round(statistics.median(v), 3) for k, v in forwarding.items()
                },
            }
            result[str(clients)] = summary
            print(json.dumps({"clients": clients, **summary}), flush=True)
    finally:
        procs.close()
    return result


def sequential(count: int, rounds: int) -> dict:
    """One request at a time and nothing else: straight, through unobserved, through observed;
    the median round trip of each round (after 50 to warm up)."""

    async def run(base: str, path: str) -> float:
        out = []
        async with aiohttp.ClientSession() as session:
            headers = {"x-api-key": "probe", "anthropic-version": "2023-06-01"}
            for _ in range(50):  # warm up, back to back as measured
                async with session.post(base + path, json=BODY, headers=headers) as response:
                    await response.read()
            for _ in range(count):
                started = time.perf_counter()
                async with session.post(base + path, json=BODY, headers=headers) as response:
                    await response.read()
                out.append((time.perf_counter() - started) * 1000)
        return round(statistics.median(out), 3)

    procs = Processes()
    rows: dict[str, list[float]] = {"direct": [], "unobserved": [], "observed": []}
    try:
        for _ in range(rounds):
            rows["direct"].append(asyncio.run(run(procs.upstream_url, "/v1/messages")))
            rows["unobserved"].append(asyncio.run(run(procs.inspector_url, "/v1/unwatched")))
            rows["observed"].append(asyncio.run(run(procs.inspector_url, "/v1/messages")))
    finally:
        procs.close()
    return {"sequential_request_ms_p50": rows}


# -- memory -------------------------------------------------------------------------------------
def conversation_body(program: int, conversation: int, turn: int) -> dict:
    system = f"Program {program}, conversation {conversation}. " + SYSTEM
    messages = []
    for i in range(turn + 1):
        if i:
            messages.append({"role": "assistant", "content": f"Answer {i}."})
        messages.append({"role": "user", "content": [{"type": "text", "text": f"Question {i}?"}]})
    messages[-1]["content"][-1]["cache_control"] = {"type": "ephemeral"}
    return {"model": "claude-sonnet-4-6", "max_tokens": 50, "system": system, "messages": messages}


async def memory_run(procs: Processes, total: int, every: int) -> list[tuple[int, float]]:
    programs, turns, workers = 8, 30, 16
    samples = [(0, procs.inspector_rss_mb())]
    sent = 0
    lock = asyncio.Lock()
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker(w: int) -> None:
            nonlocal sent
            program = w % programs
            headers = {"x-api-key": f"program-{program}", "anthropic-version": "2023-06-01"}
            conversation = w
            while True:
                for turn in range(turns):
                    async with lock:
                        if sent >= total:
                            return
                        sent += 1
                        if sent % every == 0:
                            samples.append((sent, procs.inspector_rss_mb()))
                            print(
                                json.dumps({"requests": sent, "rss_mb": samples[-1][1]}), flush=True
                            )
                    body = conversation_body(program, conversation, turn)
                    async with session.post(
                        procs.inspector_url + "/v1/messages", json=body, headers=headers
                    ) as response:
                        await response.read()
                conversation += workers

        await asyncio.gather(*(worker(w) for w in range(workers)))
    return samples


def memory(total: int) -> dict:
    procs = Processes()
    try:
        started = time.perf_counter()
        samples = asyncio.run(memory_run(procs, total, max(1, total // 10)))
        took = time.perf_counter() - started
    finally:
        procs.close()
    after_first = [mb for n, mb in samples if n >= total // 10]
    return {
        "requests": total,
        "seconds": round(took, 1),
        "rss_mb": [round(mb, 1) for _, mb in samples],
        "growth_after_first_tenth_mb": round(after_first[-1] - after_first[0], 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--serve-upstream", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--clients", default="1,100,1000")
    parser.add_argument("--probes", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3, help="straight then through, each")
    parser.add_argument(
        "--upstream-ms",
        type=float,
        default=0.0,
        help="the upstream's time to answer a probe (0: at once; the API takes hundreds)",
    )
    parser.add_argument("--memory", type=int, default=0, help="requests for the memory run")
    parser.add_argument(
        "--sequential", type=int, default=0, help="requests one at a time, nothing else running"
    )
    args = parser.parse_args()
    global UPSTREAM_MS
    UPSTREAM_MS = args.upstream_ms
    if args.serve_upstream:
        serve_upstream()
        return 0
    if args.memory:
        print(json.dumps(memory(args.memory)))
        return 0
    if args.sequential:
        print(json.dumps(sequential(args.sequential, args.rounds)))
        return 0
    clients = [int(c) for c in args.clients.split(",") if c]
    print(json.dumps({"latency": latency(clients, args.probes, args.rounds)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
