"""The engine against the simulator: turns, cancel, faults, tools, warming and keep-alive."""

import asyncio
import io

import anthropic
import pytest
from PIL import Image

from app.caching.pauses import PauseModel
from app.conversation.blocks import ToolDefinition, ToolResultBlock
from app.conversation.images import lock_image
from app.engine import events as ev
from app.engine.engine import Engine, EngineSettings
from app.engine.session import Session
from app.engine.tools import CALCULATOR, CLOCK
from app.simulator.runner import ServerThread, SimulatorThread
from app.simulator.server import SimulatorConfig
from tests.helpers import (
    HAIKU_45,
    SONNET_46,
    Harness,
    conversation,
    raw_post,
    run,
    text_of,
)


def test_a_turn_streams_and_its_usage_lands_in_the_ledger(sim):
    async def scenario():
        h = Harness(sim.base_url)
        session = Session(conversation())
        session.conversation.add_user_text("hello there")
        message = await h.engine.start_turn(session)
        session.conversation.add_user_text("and again")
        await h.engine.start_turn(session)
        await h.client.close()
        return h, session, message

    h, session, message = run(scenario())
    kinds = [type(e).__name__ for e in h.events]
    assert kinds[:2] == ["RequestBuilt", "FirstToken"] and "TextDelta" in kinds
    assert "".join(e.text for e in h.of(ev.TextDelta)).startswith(message.text[:40])
    first, second = [r for r in session.totals.records if r.kind == "turn"]
    assert first.usage.write > 0 and second.usage.read == first.usage.write
    assert first.predicted == first.usage and second.predicted == second.usage
    assert first.ttft_s is not None and h.engine.ledger.live()
    assert "hello there" in message.text


def test_cancel_keeps_the_partial_reply_marked_interrupted():
    async def scenario(base_url):
        h = Harness(base_url)
        session = Session(conversation())
        session.conversation.add_user_text("tell me everything")
        task = h.engine.start_turn(session)
        while not h.of(ev.TextDelta):
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await h.client.close()
        return h, session

    with SimulatorThread(SimulatorConfig(time_scale=1.0)) as slow:
        h, session = run(scenario(slow.base_url))
    last = session.conversation.messages[-1]
    assert last.role == "assistant" and last.interrupted and last.text
    assert h.of(ev.Cancelled)[0].partial is last
    assert session.conversation.messages[-2].text == "tell me everything"
    # A stopped reply still cost its prompt and what arrived: it is on the bill.
    (record,) = [r for r in session.totals.records if r.kind == "turn"]
    assert record.usage.input_total > 3000 and record.usage.output > 0
    assert record.cost.paid_usd > 0 and record.explanation.startswith("stopped by the user")
    assert h.of(ev.Cancelled)[0].totals.records == [record]  # the sidebar has it from the event


@pytest.mark.parametrize(
    ("fault", "kind", "attempts"),
    [
        ("overloaded", "overloaded", 3),
        ("rate_limit", "rate_limited", 3),
        ("server_error", "server", 3),
        ("invalid_key", "auth", 1),
        ("stream_error", "overloaded", 1),
        ("disconnect", "network", 1),
        ("stall", "timeout", 1),
    ],
)
def test_each_fault_becomes_a_typed_failure_and_loses_nothing(sim, fault, kind, attempts):
    async def scenario():
        quick = EngineSettings(timeout_floor_s=1.0, timeout_factor=0.5)  # a stall fails fast
        h = Harness(sim.base_url, quick, max_retries=2, default_headers={"x-sim-fault": fault})
        session = Session(conversation())
        session.conversation.add_user_text("my precious question")
        result = await h.engine.run_turn(session)
        await h.client.close()
        return h, session, result

    h, session, result = run(scenario())
    failed = h.of(ev.Failed)
    assert result is None and len(failed) == 1 and failed[0].failure.kind == kind
    stats = raw_post(sim.base_url, "/_sim/stats", b"", method="GET")[2]
    assert stats["requests"] == attempts
    texts = [m.text for m in session.conversation.messages if m.role == "user"]
    assert texts == ["my precious question"]
    if fault in ("stream_error", "disconnect", "stall"):
        assert failed[0].partial is not None and failed[0].partial.interrupted
    if fault == "rate_limit":
        assert failed[0].failure.retry_after_s == 1.0


def test_the_tool_loop_runs_the_calculator_and_the_clock(sim):
    async def scenario():
        h = Harness(sim.base_url)
        conv = conversation(tools=[CALCULATOR.definition, CLOCK.definition])
        session = Session(conv)
        conv.add_user_text("use calculator: (2+3)*4")
        first = await h.engine.run_turn(session)
        conv.add_user_text("what time is it? ask the clock")
        second = await h.engine.run_turn(session)
        await h.client.close()
        return h, session, first, second

    h, session, first, second = run(scenario())
    ran = h.of(ev.ToolRan)
    assert [(r.name, r.is_error) for r in ran] == [("calculator", False), ("clock", False)]
    assert ran[0].result == "20"
    assert "The tool returned: 20" in first.text
    results = [
        b for m in session.conversation.messages for b in m.blocks if isinstance(b, ToolResultBlock)
    ]
    assert results[0].text == "20" and "T" in results[1].text
    assert "The tool returned" in second.text


def test_an_unknown_tool_gets_an_error_result_not_a_crash(sim):
    async def scenario():
        h = Harness(sim.base_url)
        mystery = ToolDefinition.create("mystery", "unknown to the app", {"type": "object"})
        session = Session(conversation(tools=[mystery]))
        session.conversation.add_user_text("call mystery please")
        message = await h.engine.run_turn(session)
        await h.client.close()
        return h, message

    h, message = run(scenario())
    assert h.of(ev.ToolRan)[0].is_error and "Unknown tool" in h.of(ev.ToolRan)[0].result
    assert message is not None and message.role == "assistant"


def photo():
    buf = io.BytesIO()
    Image.new("RGB", (1000, 800), "orange").save(buf, "PNG")
    return lock_image(buf.getvalue())


def test_warming_runs_only_where_it_pays_and_is_not_repeated(sim):
    async def scenario():
        h = Harness(sim.base_url)
        session = Session(conversation())
        cold = h.engine.drafts.activity(session)  # nothing cached: the send would write it all
        assert cold is not None
        await cold
        again = h.engine.drafts.activity(session)
        session.conversation.add_user_text("first")
        await h.engine.run_turn(session)
        # Only the ~150-token reply is new: re-reading 3,000 tokens to save 0.02 s does not pay.
        follow_up = h.engine.drafts.activity(session)
        image = photo()
        rewarm = h.engine.drafts.activity(session, (image,))  # ~1,070 new tokens: it pays
        await rewarm
        session.conversation.add_user_text("what is in this picture?", image)
        await h.engine.run_turn(session)
        await h.client.close()
        return h, session, again, follow_up

    h, session, again, follow_up = run(scenario())
    assert again is None and follow_up is None
    reasons = [s.reason for s in h.of(ev.WarmSkipped)]
    assert reasons[0] == "already warm" and reasons[1].startswith("not worth it: it would save")
    assert len(reasons) == 2
    warms = [r for r in session.totals.records if r.kind == "warm"]
    turn = [r for r in session.totals.records if r.kind == "turn"][-1]
    assert len(warms) == 2 and warms[0].usage.write >= 3000 and warms[1].usage.write > 1000
    # Pre-warming as the docs say: max_tokens 0, so no output is billed.
    assert [w.usage.output for w in warms] == [0, 0]
    assert turn.usage.read >= session.warms[1].prefix_tokens
    assert session.warms[1].followed_by_hit is True
    assert turn.usage.write < 60  # only the new question was written


def test_warming_is_skipped_under_the_minimum_when_off_and_over_the_cap(sim):
    async def scenario():
        reasons = []
        for settings, model, tokens in (
            (EngineSettings(), HAIKU_45, 500),
            (EngineSettings(warming=False), SONNET_46, 3000),
            (EngineSettings(warm_cap_usd_per_hour=0.0), SONNET_46, 3000),
            (EngineSettings(strategy="none"), SONNET_46, 3000),
        ):
            h = Harness(sim.base_url, settings)
            session = Session(conversation(model=model, tokens=tokens))
            assert h.engine.drafts.activity(session) is None
            reasons.append(h.of(ev.WarmSkipped)[0].reason)
            await h.client.close()
        return reasons

    reasons = run(scenario())
    assert reasons[0] == "prefix too short to cache"
    assert reasons[1] == "warming is off"
    assert "spending cap" in reasons[2]
    assert reasons[3] == "the pattern caches nothing"


def test_each_turn_asks_for_the_apis_diagnosis_and_records_it_beside_its_own(sim):
    async def scenario():
        h = Harness(sim.base_url)
        session = Session(conversation())
        session.conversation.add_user_text("hello there")
        await h.engine.run_turn(session)
        session.conversation.set_system_text(text_of(3000, "edited"))
        session.conversation.add_user_text("and again")
        await h.engine.run_turn(session)
        await h.client.close()
        return session

    first, second = [r for r in run(scenario()).totals.records if r.kind == "turn"]
    assert first.server_reason == ""  # the first turn has nothing to compare with
    assert second.cause == "system_changed"
    assert "the system prompt changed" in second.server_reason
    assert "[" not in second.server_reason and "_changed" not in second.server_reason


def test_a_send_during_an_in_flight_warm_waits_and_then_hits():
    async def scenario(base_url):
        h = Harness(base_url)
        session = Session(conversation(tokens=20000))
        warm = h.engine.drafts.activity(session)
        session.conversation.add_user_text("sent at once")
        await h.engine.run_turn(session)
        assert warm.done()
        await h.client.close()
        return session

    with SimulatorThread(SimulatorConfig(time_scale=0.05)) as slow:
        session = run(scenario(slow.base_url))
    turn = [r for r in session.totals.records if r.kind == "turn"][0]
    assert turn.usage.read >= 20000
    assert session.warms[0].followed_by_hit is True


def test_keepalive_pings_refresh_the_expiry_without_real_waiting(sim):
    async def scenario():
        h = Harness(sim.base_url, EngineSettings(keepalive_pings=2, keepalive_margin_s=20))
        session = Session(conversation())
        session.conversation.add_user_text("hello")
        await h.engine.run_turn(session)
        before = max(e.expires_at for e in h.engine.ledger.live())
        await session.keepalive_task
        after = max(e.expires_at for e in h.engine.ledger.live())
        waited = h.clock.offset
        session.conversation.add_user_text("back after a while")
        await h.engine.run_turn(session)
        await h.client.close()
        return session, before, after, waited

    session, before, after, waited = run(scenario())
    pings = [r for r in session.totals.records if r.kind == "keepalive"]
    assert len(pings) == 2 and all(p.usage.read > 0 for p in pings)
    # The first ping, 280 s in, also writes the reply, for an hour: its 1h premium on ~150
    # tokens is less than the chance of a long pause times a rewrite of all 3,000. The second
    # waits for that hour to run out.
    assert pings[0].usage.write_1h > 0
    assert waited == pytest.approx((300 - 20) + (3600 - 20), abs=2)
    assert after - before == pytest.approx(waited + 3600 - 300, abs=2)  # 1h from the last ping
    last = [r for r in session.totals.records if r.kind == "turn"][-1]
    assert last.usage.read > 0  # over an hour after the first turn, the prefix is still warm


def test_keepalive_stops_when_the_user_is_unlikely_to_be_back_in_time(sim):
    """Rent or buy: a user who always answers within a minute and has been away for ten is
    probably gone; a ping would cost more than the chance of sparing a rewrite is worth."""

    async def scenario():
        pauses = PauseModel([30.0] * 200)
        h = Harness(sim.base_url, EngineSettings(keepalive_pings=5))
        h.engine.pauses = pauses
        session = Session(conversation())
        session.conversation.add_user_text("hello", created_at=h.clock() - 600)
        await h.engine.run_turn(session)
        await session.keepalive_task
        await h.client.close()
        return h, session

    h, session = run(scenario())
    assert not [r for r in session.totals.records if r.kind == "keepalive"]
    stopped = [s.reason for s in h.of(ev.WarmSkipped) if s.reason.startswith("keep-alive")]
    assert len(stopped) == 1 and "would spare rewriting" in stopped[0]


def test_a_ping_counts_only_what_would_be_rewritten_an_hour_entry_below_stays(sim):
    """Issue 35.4: with the bulk in 1h entries and a short 5m tail, a ping re-read 35,533 tokens
    "because re-reading beats rewriting them"; the rewrite it spared was the tail alone. Rent or
    buy counts only what would be rewritten if the entry expired."""
    from app.engine.economics import ping_decision

    async def scenario():
        h = Harness(sim.base_url, EngineSettings(strategy="smart"))
        session = Session(conversation(tokens=35_000))
        conv = session.conversation
        conv.ttl = "1h"
        conv.add_user_text("first question", created_at=h.clock())
        await h.engine.run_turn(session)
        conv.ttl = "5m"
        conv.add_user_text("a short follow-up", created_at=h.clock())
        await h.engine.run_turn(session)
        built = h.engine.drafts.warm_request(session)
        tail = h.engine.ledger.longest_live(built)
        h.clock.offset += 250  # shortly before the 5m tail expires; the user was here 250 s ago
        found = ping_decision(h.engine, session, built, tail)
        await h.client.close()
        return h, tail, found

    h, tail, (reason, why) = run(scenario())
    hour = [e for e in h.engine.ledger.live() if e.ttl == "1h"]
    assert tail.ttl == "5m" and hour and max(e.tokens for e in hour) > 35_000
    rewrite = tail.tokens - max(e.tokens for e in hour)
    assert 0 < rewrite < 1_000
    assert why == "" and reason is not None  # not worth a ping: the hour entry stays
    assert f"would spare rewriting {rewrite:,}" in reason


def test_counts_from_count_tokens_replace_the_estimators_where_the_api_says_otherwise():
    """With a real key, the numbers shown are the service's: here a simulator whose tokenizer
    counts 1.3x what the app's estimator says (as Opus 4.7's does) stands in for the API."""
    import json

    from app.facts.catalogue import parse_catalogue, resources_dir
    from app.simulator.runner import SimulatorThread
    from app.simulator.server import SimulatorConfig

    data = json.loads((resources_dir() / "models.json").read_text())
    data["tokenizers"]["claude-4"] = 1.3
    server_catalogue = parse_catalogue(data)

    async def scenario(base_url, count):
        h = Harness(base_url, EngineSettings(count_tokens=count))
        session = Session(conversation())
        session.conversation.add_user_text("first question")
        await h.engine.run_turn(session)
        await asyncio.gather(*list(h.engine.tasks))  # the counts run in the background
        session.conversation.add_user_text("second question")
        await h.engine.run_turn(session)
        await h.client.close()
        system_end = h.engine.builder.build(session.conversation).flat.blocks[0]
        return [r for r in session.totals.records if r.kind == "turn"], system_end

    with SimulatorThread(SimulatorConfig(time_scale=0, catalogue=server_catalogue)) as server:
        counted, system_end = run(scenario(server.base_url, True))
        raw_post(server.base_url, "/_sim/reset", {})
        guessed, estimated_end = run(scenario(server.base_url, False))
        truth = (
            anthropic.Anthropic(base_url=server.base_url, api_key="k")
            .messages.count_tokens(
                model=SONNET_46,
                tools=[t.api for t in conversation().tools] or anthropic.NOT_GIVEN,
                system=text_of(3000, "system"),
                messages=[{"role": "user", "content": "."}],
            )
            .input_tokens
            - 5
        )  # the placeholder message: 1 token and 4 of overhead, times 1.3
    assert system_end.cumulative != estimated_end.cumulative
    assert abs(system_end.cumulative - truth) <= 2
    # Each response's total input is the service's count of its whole request, learned for free:
    # the next turn's read (that prefix) is predicted exactly either way.
    assert counted[1].predicted.read == counted[1].usage.read > 0
    assert guessed[1].predicted.read == guessed[1].usage.read


def test_a_lone_surrogate_in_a_streamed_reply_is_saved_and_later_turns_still_work(tmp_path):
    """A faulty endpoint streams "\\ud800" (valid JSON, not valid text): the reply is kept with
    U+FFFD in its place, the next request serialises, and the JSON export works."""
    import json as jsonlib

    from aiohttp import web

    from app.storage.export import export_json

    def sse(events):
        return "".join(f"event: {e['type']}\ndata: {jsonlib.dumps(e)}\n\n" for e in events)

    usage = {
        "input_tokens": 10,
        "output_tokens": 3,
        "cache_read_input_tokens": 0,
        "cache_creation_input_tokens": 0,
    }
    message = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": SONNET_46,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": usage,
    }
    events = [
        {"type": "message_start", "message": message},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "text_delta", "text": "bad \ud800 text"},
        },
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": 3},
        },
        {"type": "message_stop"},
    ]
    body = sse(events).encode("utf-8", "surrogatepass").replace(b"\xed\xa0\x80", b"\\ud800")
    sent = []

    async def handler(request):
        sent.append(await request.read())
        return web.Response(body=body, headers={"content-type": "text/event-stream"})

    def faulty_endpoint():
        app = web.Application()
        app.router.add_post("/v1/messages", handler)
        return app

    async def scenario(base_url):
        client = anthropic.AsyncAnthropic(api_key="k", base_url=base_url, max_retries=0)
        engine = Engine(client, EngineSettings(warming=False))
        session = Session(conversation(tokens=50))
        session.conversation.add_user_text("hello")
        first = await engine.run_turn(session)
        session.conversation.add_user_text("again")
        await engine.run_turn(session)
        await client.close()
        return session, first

    with ServerThread(faulty_endpoint) as faulty:
        session, first = run(scenario(faulty.base_url))
    assert first.text == "bad \ufffd text"
    assert len(sent) == 2 and "\ufffd".encode() in sent[1]  # the next request went out
    export_json(session.conversation, tmp_path / "out.json", [])
    assert "bad \ufffd text" in (tmp_path / "out.json").read_text(encoding="utf-8")


def test_another_key_starts_from_what_its_workspace_has_cached(sim):
    """The ledger is kept per endpoint and key: after a switch, nothing is taken for warm."""

    async def scenario():
        h = Harness(sim.base_url)
        session = Session(conversation())
        session.conversation.add_user_text("hello")
        await h.engine.run_turn(session)
        assert h.engine.drafts.activity(session) is None  # warm here: "already warm" or not worth
        other = anthropic.AsyncAnthropic(base_url=sim.base_url, api_key="another workspace")
        h.engine.client = other
        warm = h.engine.drafts.activity(session)
        assert warm is not None  # cold for this key: warmed, not "already warm"
        await warm
        await h.client.close()
        await other.close()
        return session

    session = run(scenario())
    warm = [r for r in session.totals.records if r.kind == "warm"][-1]
    assert warm.usage.read == 0 and warm.usage.write >= 3000
    assert warm.predicted == warm.usage  # the prediction knew it was cold


def test_no_keepalive_ping_where_the_api_refuses_max_tokens_0(sim):
    """A helper's reading of the code: pings ignored what refuses a warm-up, so a conversation
    with extended (``enabled``) thinking sent pings the API answers with a 400."""

    async def scenario():
        h = Harness(sim.base_url, EngineSettings(keepalive_pings=2, keepalive_margin_s=20))
        conv = conversation()
        conv.max_tokens = 2048
        conv.thinking = {"type": "enabled", "budget_tokens": 1024}
        session = Session(conv)
        session.conversation.add_user_text("hello")
        await h.engine.run_turn(session)
        if session.keepalive_task is not None:
            await session.keepalive_task
        await h.client.close()
        return h, session

    h, session = run(scenario())
    kinds = [r.kind for r in session.totals.records]
    assert kinds == ["turn"], [(r.kind, r.error) for r in session.totals.records]
    said = [s.reason for s in h.of(ev.WarmSkipped)]
    assert any(r.startswith("no keep-alive pings: extended thinking") for r in said), said
