"""Injected faults reach the SDK as the real service's failures do, retries included."""

import asyncio
import subprocess
import sys
import time

import anthropic
import pytest

from app.engine.failures import classify
from app.simulator.runner import SimulatorThread
from app.simulator.server import SimulatorConfig
from tests.helpers import SONNET_46, raw_post

MSGS = [{"role": "user", "content": "hi"}]


def stats(sim):
    return raw_post(sim.base_url, "/_sim/stats", b"", method="GET")[2]


@pytest.mark.parametrize(
    ("fault", "exc", "status"),
    [
        ("overloaded", anthropic.OverloadedError, 529),
        ("server_error", anthropic.InternalServerError, 500),
        ("rate_limit", anthropic.RateLimitError, 429),
        ("invalid_key", anthropic.AuthenticationError, 401),
    ],
)
def test_fault_yields_sdk_exception_after_its_retries(sim, fault, exc, status):
    retries = 0 if fault == "invalid_key" else 1
    with (
        anthropic.Anthropic(
            base_url=sim.base_url,
            api_key="k",
            max_retries=1,
            default_headers={"x-sim-fault": fault},
        ) as client,
        pytest.raises(exc) as err,
    ):
        client.messages.create(model=SONNET_46, max_tokens=5, messages=MSGS)
    assert err.value.status_code == status
    assert stats(sim)["requests"] == 1 + retries
    if fault == "rate_limit":
        assert err.value.response.headers["retry-after"] == "1"


def test_fault_on_first_attempt_only_is_retried_to_success(sim):
    headers = {"x-sim-fault": "overloaded", "x-sim-fault-attempts": "1"}
    with anthropic.Anthropic(
        base_url=sim.base_url, api_key="k", max_retries=2, default_headers=headers
    ) as client:
        msg = client.messages.create(model=SONNET_46, max_tokens=500, messages=MSGS)
    assert msg.stop_reason == "end_turn"
    assert stats(sim)["requests"] == 2


def test_stream_error_event_mid_stream_raises_with_the_partial_text_seen(client):
    seen = []
    with (
        pytest.raises(anthropic.APIStatusError) as err,
        client.messages.stream(
            model=SONNET_46,
            max_tokens=500,
            messages=MSGS,
            extra_headers={"x-sim-fault": "stream_error"},
        ) as stream,
    ):
        for text in stream.text_stream:
            seen.append(text)
    assert "overloaded_error" in str(err.value)
    assert len(seen) == 2


def test_dropped_connection_mid_stream_fails_as_a_network_failure_after_the_text_seen(client):
    # Which exception class carries a dropped stream is the SDK's business (the HTTP library's
    # RemoteProtocolError up to 2.16, APIConnectionError from 2.17): what the user relies on is
    # that the app calls it a network failure, after the text that did arrive.
    seen = []
    with (
        pytest.raises(Exception) as err,
        client.messages.stream(
            model=SONNET_46,
            max_tokens=500,
            messages=MSGS,
            extra_headers={"x-sim-fault": "disconnect"},
        ) as stream,
    ):
        for text in stream.text_stream:
            seen.append(text)
    assert classify(err.value).kind == "network", repr(err.value)
    assert len(seen) == 2  # some text arrived before the drop


def test_stalled_stream_times_out_on_the_client_and_the_simulator_lets_it_go(sim):
    with (
        anthropic.Anthropic(base_url=sim.base_url, api_key="k", max_retries=0, timeout=1.0) as c,
        pytest.raises(Exception) as err,
        c.messages.stream(
            model=SONNET_46, max_tokens=500, messages=MSGS, extra_headers={"x-sim-fault": "stall"}
        ) as stream,
    ):
        for _ in stream.text_stream:
            pass
    assert classify(err.value).kind == "timeout", repr(err.value)
    deadline = time.monotonic() + 3
    while stats(sim)["active_streams"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stats(sim)["active_streams"] == 0


def test_global_fault_rate_hits_about_that_share(sim):
    from app.simulator.faults import FaultPlan

    config = SimulatorConfig(time_scale=0, faults=FaultPlan([("overloaded", 0.5)], seed=7))
    with (
        SimulatorThread(config) as faulty,
        anthropic.Anthropic(base_url=faulty.base_url, api_key="k", max_retries=0) as c,
    ):
        outcomes = []
        for _ in range(60):
            try:
                c.messages.create(model=SONNET_46, max_tokens=5, messages=MSGS)
                outcomes.append("ok")
            except anthropic.OverloadedError:
                outcomes.append("529")
    assert 15 <= outcomes.count("529") <= 45


def test_fifty_concurrent_streams_complete_and_leave_no_task(sim):
    async def run():
        async with anthropic.AsyncAnthropic(base_url=sim.base_url, api_key="k", max_retries=0) as c:

            async def one(i):
                async with c.messages.stream(
                    model=SONNET_46,
                    max_tokens=300,
                    messages=[{"role": "user", "content": f"stream {i}"}],
                ) as s:
                    return await s.get_final_message()

            return await asyncio.gather(*[one(i) for i in range(50)])

    finals = asyncio.run(run())
    assert all(f"stream {i}" in m.content[0].text for i, m in enumerate(finals))
    assert stats(sim)["active_streams"] == 0


def test_client_leaving_mid_stream_leaves_no_stuck_task(sim):
    async def run(base_url):
        async with anthropic.AsyncAnthropic(base_url=base_url, api_key="k", max_retries=0) as c:
            async with c.messages.stream(model=SONNET_46, max_tokens=2000, messages=MSGS) as s:
                async for _ in s.text_stream:
                    break

    with SimulatorThread(SimulatorConfig(time_scale=1.0)) as slow:
        asyncio.run(run(slow.base_url))
        deadline = time.monotonic() + 5
        while stats(slow)["active_streams"] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert stats(slow)["active_streams"] == 0


def test_cli_prints_its_url_and_serves(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.simulator.cli", "--port", "0", "--time-scale", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        with anthropic.Anthropic(base_url=url, api_key="k") as c:
            assert (
                c.messages.create(model=SONNET_46, max_tokens=500, messages=MSGS).stop_reason
                == "end_turn"
            )
    finally:
        proc.terminate()
        proc.wait(10)


def test_cli_refuses_a_non_loopback_host_without_allow_remote():
    done = subprocess.run(
        [sys.executable, "-m", "app.simulator.cli", "--host", "0.0.0.0", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2 and "--allow-remote" in done.stderr


def test_cli_rejects_an_unknown_fault():
    done = subprocess.run(
        [sys.executable, "-m", "app.simulator.cli", "--fault", "meteor:0.1"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2 and "unknown fault" in done.stderr
