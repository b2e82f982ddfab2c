"""A silent API never holds the user up: one stall test per kind of request.

Every request carries a time limit from its expected duration (``app.facts.timing``): a turn's
stream, a warm-up and a keep-alive ping each fail as a visible timeout instead of waiting for the
SDK's 600 s default, and a send stops waiting for a late warm-up of its prefix instead of
``warm_wait_s``. The simulator's ``stall`` fault keeps the connection open and silent; each test
runs under ``asyncio.wait_for`` so the old behaviour fails it rather than hanging the suite.
"""

import asyncio

import anthropic

from app.engine import events as ev
from app.engine.engine import EngineSettings
from app.engine.session import Session
from tests.helpers import Harness, conversation, run

HANG = 25.0  # seconds: far above any limit set here, far below the old 30 s and 600 s waits
QUICK = dict(timeout_floor_s=1.0, timeout_factor=0.5)


def stalled_client(base_url):
    return anthropic.AsyncAnthropic(
        base_url=base_url, api_key="k", max_retries=0, default_headers={"x-sim-fault": "stall"}
    )


def test_a_stalled_turn_fails_as_a_timeout_and_keeps_the_question(sim):
    async def scenario():
        h = Harness(sim.base_url, EngineSettings(warming=False, **QUICK))
        await h.client.close()
        h.engine.client = stalled_client(sim.base_url)
        session = Session(conversation())
        session.conversation.add_user_text("my question")
        result = await asyncio.wait_for(h.engine.run_turn(session), HANG)
        await h.engine.client.close()
        return h, session, result

    h, session, result = run(scenario())
    failed = h.of(ev.Failed)
    assert result is None and [f.failure.kind for f in failed] == ["timeout"]
    assert session.conversation.messages[0].text == "my question"
    assert session.totals.records[-1].error  # the failed turn is on the record


def test_a_send_does_not_wait_for_a_stalled_warm_up(sim):
    async def scenario():
        settings = EngineSettings(warm_wait_s=600, warm_grace_s=0.2, warm_wait_factor=1, **QUICK)
        h = Harness(sim.base_url, settings)
        healthy = h.client
        h.engine.client = stalled_client(sim.base_url)
        session = Session(conversation(tokens=6000))
        session.conversation.add_user_text("first")
        warm = h.engine.drafts.activity(session)
        assert warm is not None
        await asyncio.sleep(0.1)  # the warm-up's request is under way on the stalled client
        h.engine.client = healthy  # and only it is stalled
        reply = await asyncio.wait_for(h.engine.run_turn(session), HANG)
        await asyncio.wait_for(warm, HANG)  # and it fails on its own, as a timeout
        await healthy.close()
        return h, session, reply

    h, session, reply = run(scenario())
    assert reply is not None and reply.role == "assistant"
    late = [e for e in h.of(ev.WarmSkipped) if "late" in e.reason]
    assert late and not late[0].quiet  # the user is told why the send did not wait
    failed = h.of(ev.Failed)
    assert [(f.kind, f.failure.kind) for f in failed] == [("warm", "timeout")]
    kinds = [(r.kind, bool(r.error)) for r in session.totals.records]
    assert ("warm", True) in kinds and ("turn", False) in kinds


def test_a_stalled_keep_alive_ping_fails_visibly(sim):
    async def scenario():
        h = Harness(sim.base_url, EngineSettings(warming=False, keepalive_pings=1, **QUICK))
        session = Session(conversation())
        session.conversation.add_user_text("hello")
        await h.engine.run_turn(session)  # schedules the ping
        healthy = h.engine.client
        h.engine.client = stalled_client(sim.base_url)
        await asyncio.wait_for(session.keepalive_task, HANG)
        await healthy.close()
        return h

    h = run(scenario())
    failed = h.of(ev.Failed)
    assert [(f.kind, f.failure.kind) for f in failed] == [("keepalive", "timeout")]
