"""``cachescope-inspect --keep-alive`` (issue 38, point 4): another program's idle session has its
cached prefix kept warm by pings, decided as the app decides its own, billed to the program's
key, which is never written anywhere; without the option nothing of the inspector's own is sent.

Checked with clients nobody here wrote (the official SDK, sync and async, create and stream;
litellm and lm-deluge in the ``clients`` extra) through the inspector in front of the simulator,
pauses made with the simulator's clock control: the entry is still live after a pause the pings
covered (the program's next request reads it: the simulator's usage says so), and each ping's
line equals what the simulator billed for it (a tap between them records its answers). The
pre-warming rules are prompt-caching.md, "Pre-warming the cache"; the lifetime and its refresh,
prompt-caching.md, "How prompt caching works" ("refreshed for no additional cost each time the
cached content is used")."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import threading
import time

import anthropic
import pytest
from PIL import Image

from app.agents.rewrites import dollars
from app.caching.costs import cost_of
from app.caching.ledger import Usage
from app.caching.pauses import PauseModel
from app.engine.settings import MAX_PINGS
from app.facts.catalogue import default_catalogue
from tests.helpers import SONNET_46
from tests.keepalive_kit import KEY, REFUSED, SLOW, SYSTEM, Kept, advance, system, tapped

MODEL = default_catalogue().require(SONNET_46)
DUE = 285  # past the ping's due time (20 s before a 5-minute entry expires), before expiry
REST = 75  # then on to a 6-minute pause


@pytest.fixture
def tap(sim):
    with tapped(sim.base_url) as found:
        yield found


def clock(sim):
    return sim.simulator.store.clock.now  # one timeline for the simulator and the inspector


def ask(kept: Kept, question: str, mode: str = "create", key: str = KEY, **extra):
    """One request of the official SDK through the inspector, in ``mode``: its usage."""
    kw = {
        "model": SONNET_46,
        "max_tokens": 30,
        "system": system(),
        "messages": [{"role": "user", "content": question}],
        **extra,
    }
    if mode.startswith("async"):

        async def run():
            async with anthropic.AsyncAnthropic(
                base_url=kept.base_url, api_key=key, max_retries=0
            ) as client:
                if mode == "async stream":
                    async with client.messages.stream(**kw) as stream:
                        return (await stream.get_final_message()).usage
                return (await client.messages.create(**kw)).usage

        return asyncio.run(run())
    with anthropic.Anthropic(base_url=kept.base_url, api_key=key, max_retries=0) as client:
        if mode == "stream":
            with client.messages.stream(**kw) as stream:
                return stream.get_final_message().usage
        return client.messages.create(**kw).usage


def sonnet_46_usd(usage: dict) -> float:
    """A usage at Sonnet 4.6's published prices (pricing.md): $3 input, $3.75 5m write,
    $6 1h write, $0.30 read, $15 output per million tokens."""
    written = usage.get("cache_creation") or {}
    return (
        usage["input_tokens"] * 3.0
        + written.get("ephemeral_5m_input_tokens", 0) * 3.75
        + written.get("ephemeral_1h_input_tokens", 0) * 6.0
        + usage["cache_read_input_tokens"] * 0.30
        + usage["output_tokens"] * 15.0
    ) / 1e6


@pytest.mark.parametrize("mode", ["create", "stream", "async create", "async stream"])
def test_a_pause_the_pings_covered_is_read_by_the_programs_next_request(sim, tap, mode):
    with Kept(tap.url, clock(sim)) as kept:
        first = ask(kept, "Who signs?", mode)
        kept.wait_lines(1)
        advance(sim.base_url, DUE)
        ping = kept.wait_lines(2)[1]
        advance(sim.base_url, REST)
        second = ask(kept, "When does it end?", mode)
        lines = kept.wait_lines(3)
    assert first.cache_creation_input_tokens > 3000
    assert second.cache_read_input_tokens == first.cache_creation_input_tokens  # still live
    assert [line.kind for line in lines] == [lines[0].kind, "ping", lines[0].kind]
    (sent,) = tap.pings
    assert KEY in sent.key and sent.key == tap.seen[0].key  # billed to the program's own key
    assert "stream" not in sent.body and sent.body["max_tokens"] == 0
    assert sent.body["system"] == system() and sent.body["messages"] == [
        {"role": "user", "content": "."}  # the app's placeholder turn after the breakpoint
    ]
    billed = sent.usage
    assert billed["output_tokens"] == 0 and billed["cache_creation_input_tokens"] == 0
    assert (ping.read, ping.uncached) == (billed["cache_read_input_tokens"], billed["input_tokens"])
    assert ping.read == first.cache_creation_input_tokens
    assert ping.cost_usd == pytest.approx(sonnet_46_usd(billed), abs=1e-6)
    assert ping.reason.startswith(
        f"kept {ping.read:,} tokens warm: a rewrite would cost "
        f"{dollars(ping.read * 3.75 / 1e6)}, this ping {dollars(ping.cost_usd)} ("
    )
    summary = kept.observer.summaries()[0]
    assert f"3 requests (1 keep-alive ping, ${ping.cost_usd:.4f})" in summary
    paid = sum(line.cost_usd for line in lines)
    assert f"${paid:.4f}" in summary  # the session's totals count the ping


def test_without_keep_alive_nothing_is_sent_and_the_rewrite_is_named(sim, tap):
    """Off by default: the inspector sends nothing of its own; the request after the pause
    rewrote the prefix, and its line says what that cost against keeping it alive."""
    with Kept(tap.url, clock(sim), keep_alive=False) as kept:
        first = ask(kept, "Who signs?")
        kept.wait_lines(1)
        advance(sim.base_url, DUE)
        assert len(kept.quiet()) == 1
        advance(sim.base_url, REST)
        second = ask(kept, "When does it end?")
        lines = kept.wait_lines(2)
    assert len(tap.seen) == 2 and not tap.pings
    written = first.cache_creation_input_tokens
    assert second.cache_read_input_tokens == 0 and second.cache_creation_input_tokens == written
    assert lines[1].rewrite == (
        f"rewrote {written:,} tokens after 6 min idle: {dollars(written * 3.75 / 1e6)}; "
        f"a keep-alive would have cost {dollars(written * 0.30 / 1e6)}"
    )
    assert lines[1].rewrite in lines[1].text() and not lines[0].rewrite
    assert json.loads(json.dumps(lines[1].as_dict()))["rewrite"] == lines[1].rewrite


def test_rent_or_buy_stops_the_pings_when_a_return_is_unlikely(sim, tap):
    """With the app's prior of pauses, a second ping, after 9.5 min idle, would re-read more
    than the rewrite it could spare is worth: one line says so, the key is forgotten."""
    with Kept(tap.url, clock(sim)) as kept:
        ask(kept, "Who signs?")
        kept.wait_lines(1)
        advance(sim.base_url, DUE)
        kept.wait_lines(2)
        assert kept.keepalive.holding() == ["s1"]
        advance(sim.base_url, 280)
        stop = kept.wait_lines(3)[2]
        assert kept.keepalive.holding() == []
        advance(sim.base_url, 280)
        assert len(kept.quiet()) == 3
    assert len(tap.pings) == 1
    assert stop.kind == "keep-alive" and stop.session == "s1"
    assert stop.note.startswith("stopped keeping s1 warm: re-reading ")
    assert "with a 0% chance of a send within the next 5 min" in stop.note


class AlwaysBack(PauseModel):
    """A program that always comes back within the entry's next lifetime: every ping pays."""

    def return_chance(self, idle: float, window: float) -> float:
        return 1.0


def test_the_apps_limit_ends_the_pings_after_a_pause_of_an_hour(sim, tap):
    """At most ``MAX_PINGS`` (12) pings after a program's request, however much they pay: 12
    pings keep a 5-minute entry alive for 61 minutes, and the 13th is a line instead."""
    with Kept(tap.url, clock(sim), pauses=AlwaysBack) as kept:
        first = ask(kept, "Who signs?")
        kept.wait_lines(1)
        for count in range(2, MAX_PINGS + 2):
            advance(sim.base_url, 280 if count > 2 else DUE)
            kept.wait_lines(count)
        advance(sim.base_url, 280)
        stop = kept.wait_lines(MAX_PINGS + 2)[-1]
        advance(sim.base_url, 5)  # 61 minutes after the first request
        later = ask(kept, "When does it end?")
    assert len(tap.pings) == MAX_PINGS
    assert stop.note == (
        f"stopped keeping s1 warm: {MAX_PINGS} pings since the program's last request (the"
        " app's limit)"
    )
    assert later.cache_read_input_tokens == first.cache_creation_input_tokens


def test_the_cap_holds_over_all_sessions(sim, tap):
    """Dollars per hour over all sessions: room for one session's ping, not the other's."""
    with Kept(tap.url, clock(sim), cap=0.0015) as kept:  # one ping costs about $0.0013
        ask(kept, "Who signs?")
        ask(kept, "Who pays?", key=KEY + "-other")
        kept.wait_lines(2)
        advance(sim.base_url, DUE)
        lines = kept.wait_lines(4)
        assert kept.quiet()[4:] == []
    assert len(tap.pings) == 1
    kinds = sorted(line.kind for line in lines[2:])
    assert kinds == ["keep-alive", "ping"]
    stop = next(line for line in lines if line.kind == "keep-alive")
    ping = next(line for line in lines if line.kind == "ping")
    assert stop.session != ping.session
    assert stop.note.startswith(f"stopped keeping {stop.session} warm: the next ping (about $")
    assert stop.note.endswith(
        f"would pass the cap of {dollars(0.0015)}/h ({dollars(ping.cost_usd)} spent on pings in"
        " the last hour)"
    )


def test_a_ping_due_while_the_programs_request_is_in_flight_waits_for_its_end(sim, tap):
    """The program's second request reads the entry at once and then streams a long reply;
    the ping falls due meanwhile and goes only once that request has ended."""
    tap.slow_s = 2.0
    with Kept(tap.url, clock(sim)) as kept:
        first = ask(kept, "Who signs?")
        kept.wait_lines(1)
        slow = threading.Thread(target=ask, args=(kept, f"{SLOW} Who pays?"))
        slow.start()
        while len(tap.seen) < 2:  # answered by the simulator, held by the tap
            time.sleep(0.005)
        advance(sim.base_url, DUE)  # the ping is due now, while that request is in flight
        assert kept.quiet(0.5)[1:] == [] and not tap.pings
        slow.join()
        lines = kept.wait_lines(3)
    program, ping = tap.seen[1], tap.seen[2]
    assert [line.kind for line in lines] == ["turn", "turn", "ping"]
    assert ping.is_ping and ping.arrived > program.answered
    assert program.usage["cache_read_input_tokens"] == first.cache_creation_input_tokens


def test_a_programs_request_never_waits_on_a_ping(sim, tap):
    tap.ping_s = 1.5
    with Kept(tap.url, clock(sim)) as kept:
        ask(kept, "Who signs?")
        kept.wait_lines(1)
        advance(sim.base_url, DUE)
        while tap.arrived < 2:  # the ping is at the tap, held
            time.sleep(0.005)
        started = time.monotonic()
        usage = ask(kept, "Who pays?")
        took = time.monotonic() - started
        lines = kept.wait_lines(3)
    assert took < 1.0, took
    assert [line.kind for line in lines] == ["turn", "turn", "ping"]  # the ping ended last
    assert usage.cache_read_input_tokens > 3000


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_key_is_said_in_one_line_and_forgotten_at_once(sim, tap, status):
    tap.refuse = status
    with Kept(tap.url, clock(sim)) as kept:
        ask(kept, "Who signs?")
        kept.wait_lines(1)
        advance(sim.base_url, DUE)
        lines = kept.wait_lines(3)
        assert kept.keepalive.holding() == [] and not kept.keepalive.watches
        advance(sim.base_url, 280)
        assert len(kept.quiet()) == 3
    failed, stop = lines[1:]
    assert (failed.kind, failed.status, failed.reason) == (
        "failed",
        status,
        "keep-alive ping for s1",
    )
    assert stop.note == f"stopped keeping s1 warm: a ping got HTTP {status}; its key is forgotten"
    assert len(tap.seen) == 2


def test_a_key_the_api_refuses_to_the_program_is_forgotten_too(sim, tap):
    with Kept(tap.url, clock(sim)) as kept:
        ask(kept, "Who signs?")
        kept.wait_lines(1)
        tap.refuse = 401
        with pytest.raises(anthropic.AuthenticationError):
            ask(kept, f"{REFUSED} Who pays?")
        stop = kept.wait_lines(3)[2]
        assert kept.keepalive.holding() == []
        advance(sim.base_url, DUE)
        assert len(kept.quiet()) == 3
    assert not tap.pings
    assert stop.note == (
        "stopped keeping s1 warm: the program's own request got HTTP 401; its key is forgotten"
    )


def test_the_key_never_reaches_the_file_the_logs_or_the_lines(sim, tap, tmp_path, caplog):
    """The key of a session is held in memory for its pings only: after pings that pass, fail
    (a dropped connection) and are refused, it is in no captured line, log or printed line,
    and once the inspector stops nothing holds it."""
    caplog.set_level("DEBUG")
    path = tmp_path / "captured.jsonl"
    with Kept(tap.url, clock(sim), path=path) as kept:
        ask(kept, "Who signs?")
        kept.wait_lines(1)
        advance(sim.base_url, DUE)
        kept.wait_lines(2)  # a ping that passed
        tap.drop = True
        ask(kept, "Who pays?")
        kept.wait_lines(3)
        advance(sim.base_url, DUE)
        dropped = kept.wait_lines(4)[3]  # a ping whose connection was dropped
        tap.drop, tap.refuse = False, 401
        ask(kept, "Who pays now?")
        kept.wait_lines(5)
        advance(sim.base_url, DUE)
        lines = kept.wait_lines(7)  # a refused ping, and the line forgetting the key
        shown = [repr(w) for w in kept.keepalive.watches.values()]
        keepalive = kept.keepalive
    assert dropped.kind == "failed" and dropped.status == 0 and "ping failed" in dropped.note
    assert keepalive.watches == {} and keepalive.holding() == []
    written = path.read_text()
    assert len(written.splitlines()) == 7
    printed = "\n".join(line.text() for line in lines)
    for place in (written, printed, caplog.text, "".join(shown)):
        assert KEY not in place and KEY[-12:] not in place
    assert all(KEY in s.key for s in tap.seen)  # sent upstream only


def test_a_request_that_cannot_be_pinged_says_so_once(sim, tap):
    """Extended thinking with a budget refuses ``max_tokens: 0`` (prompt-caching.md,
    "Pre-warming the cache"): no ping is sent, and the line is not repeated every pause."""
    thinking = {"type": "enabled", "budget_tokens": 1024}
    with Kept(tap.url, clock(sim)) as kept:
        ask(kept, "Who signs?", max_tokens=2000, thinking=thinking)
        kept.wait_lines(1)
        advance(sim.base_url, DUE)
        kept.wait_lines(2)
        ask(kept, "Who pays?", max_tokens=2000, thinking=thinking)
        kept.wait_lines(3)
        advance(sim.base_url, DUE)
        lines = kept.quiet()
    assert not tap.pings
    said = [line for line in lines if line.kind == "keep-alive"]
    assert [line.note for line in said] == [
        "cannot keep s1 warm: extended thinking with a budget refuses max_tokens 0"
    ]


def test_a_cut_that_would_not_read_the_entry_pings_the_whole_request(sim, tap):
    """The ping leaves out what follows the last breakpoint, unless that changes the cache key:
    dropping the prompt's only image would (prompt-caching.md, "What invalidates the cache"),
    so the app's ledger sends the whole request, and the simulator reads the entry."""
    picture = io.BytesIO()
    Image.new("RGB", (64, 64), "teal").save(picture, "PNG")
    data = base64.b64encode(picture.getvalue()).decode()
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png"}}
    image["source"]["data"] = data
    question = {"type": "text", "text": SYSTEM_TEXT, "cache_control": {"type": "ephemeral"}}
    with Kept(tap.url, clock(sim)) as kept:
        ask(kept, "", messages=[{"role": "user", "content": [question, image]}], system="Hi.")
        kept.wait_lines(1)
        advance(sim.base_url, DUE)
        ping = kept.wait_lines(2)[1]
    (sent,) = tap.pings
    assert sent.body["messages"][0]["content"] == [question, image]
    assert ping.kind == "ping" and ping.read == kept.lines[0].written_5m == ping.predicted_read
    assert ping.uncached == sent.usage["input_tokens"] > 0  # the image, read in full


SYSTEM_TEXT = "Clause by clause, what does this contract say? " * 200


def test_pings_are_counted_by_the_simulator_as_the_tap_saw_them(sim, tap):
    """What the simulator billed equals what the lines say, over a session with pings: the
    sum of the lines' costs is the sum of the simulator's usages at the published prices."""
    with Kept(tap.url, clock(sim)) as kept:
        for n, question in enumerate(("Who signs?", "Who pays?", "When?")):
            ask(kept, question)
            kept.wait_lines(2 * n + 1)
            advance(sim.base_url, DUE)
            kept.wait_lines(2 * n + 2)
            advance(sim.base_url, REST)
        lines = kept.lines
    billed = sum(sonnet_46_usd(s.usage) for s in tap.seen)
    assert sum(line.cost_usd for line in lines) == pytest.approx(billed, abs=1e-6)
    at = lines[1].time
    for line, seen in zip(lines, tap.seen, strict=True):
        usage = Usage.from_api(seen.usage)
        assert line.read == usage.read and line.written_5m == usage.write_5m
        assert line.cost_usd == pytest.approx(cost_of(usage, MODEL, at).paid_usd, abs=1e-6)


def test_a_session_that_sent_no_user_turn_counts_its_idle_time_from_its_last_request(sim, tap):
    """A program whose requests end in tool results only (an agent's loop) has no user turn:
    its idle time stayed 0, so every ping said the same "69% chance" and the pings went on for
    an hour. Idle now counts from its last request's end: the second ping, 9.5 minutes on, is
    not worth it (as for a chat: ``test_rent_or_buy_stops_the_pings_when_a_return_is_unlikely``)."""
    tool = {"name": "get", "description": "Get a thing.", "input_schema": {"type": "object"}}
    messages = [
        {"role": "user", "content": "Look both up."},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "toolu_1", "name": "get", "input": {}}],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_1",
                    "content": SYSTEM,
                    "cache_control": {"type": "ephemeral"},
                }
            ],
        },
    ]
    with Kept(tap.url, clock(sim)) as kept:
        with anthropic.Anthropic(base_url=kept.base_url, api_key=KEY, max_retries=0) as client:
            client.messages.create(model=SONNET_46, max_tokens=20, tools=[tool], messages=messages)
        kept.wait_lines(1)
        advance(sim.base_url, DUE)
        kept.wait_lines(2)
        advance(sim.base_url, 280)
        stop = kept.wait_lines(3)[2]
        advance(sim.base_url, 280)
        assert len(kept.quiet()) == 3
    assert len(tap.pings) == 1
    assert stop.kind == "keep-alive" and "0% chance" in stop.note
    assert stop.status == 0 and stop.time > 0  # a notice: no request, said when it was
