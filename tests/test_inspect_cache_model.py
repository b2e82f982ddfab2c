"""One model of the cache (issue 36, points 10-13): the inspector predicts with the app's ledger
and explains with the app's explainer, so what it says is what the window and the replay say.

The property: random request sequences (breakpoints on tools, system and messages, automatic
caching, 5m and 1h TTLs, edits of the system prompt, of tools and of earlier messages, streams
and warm-ups, pauses moved with the simulator's clock control) sent through the inspector in
front of the simulator: on every request ``predicted_read`` equals the simulator's read and
equals what the app's own ``CacheLedger`` predicts for the same requests, and ``miss_reason`` is
set exactly when the explainer says the request read less than it could."""

from __future__ import annotations

import json

import httpx2 as httpx
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from app.caching.builder import BuiltRequest
from app.caching.explainer import explain
from app.caching.ledger import CacheLedger, Usage
from app.facts.catalogue import default_catalogue
from app.facts.prefix import flatten_request
from app.facts.rules import resolve_breakpoints
from app.inspect.lines import Line
from app.inspect.observer import Observer
from app.inspect.proxy import InspectProxy
from app.simulator.runner import ServerThread
from tests.helpers import SONNET_46, raw_post, text_of

MODEL = default_catalogue().require(SONNET_46)
PAUSES = (0, 47, 131, 353, 2903, 3701)  # seconds; sums of them kept clear of 300 and 3600
SPOTS = ("tool", "system", "earlier user", "last user")  # in request order


@pytest.fixture(scope="module")
def inspected(sim_thread):
    raw_post(sim_thread.base_url, "/_sim/reset", {})
    clock = sim_thread.simulator.store.clock  # one timeline for the simulator and the inspector
    proxy = InspectProxy(sim_thread.base_url, Observer(default_catalogue(), clock=clock.now))
    with ServerThread(proxy.make_app) as server:
        server.proxy = proxy
        yield server, sim_thread, clock


def wait_for(server, count: int) -> list[Line]:
    import time

    deadline = time.monotonic() + 10
    while server.proxy.lines.total < count and time.monotonic() < deadline:
        time.sleep(0.005)
    return server.proxy.lines.recent()


def tool(name: str, description: str) -> dict:
    return {"name": name, "description": description, "input_schema": {"type": "object"}}


def cc(ttl: str) -> dict:
    return {"type": "ephemeral", "ttl": ttl}


class Conversation:
    """The state a random sequence edits; ``body`` renders one request of it."""

    def __init__(self) -> None:
        self.tools = [
            tool("lookup", "Look a word up. " * 60),
            tool("mcp__github__search", "Search code. " * 40),
        ]
        self.stamp = 0
        self.users = [text_of(400, "question 0")]

    def system(self) -> str:
        return f"It is 10:{self.stamp:02d}. " + text_of(1600, "system")

    def body(self, marks: dict[str, str], automatic: str | None, kind: str) -> dict:
        messages = []
        for i, text in enumerate(self.users):
            if i:
                messages.append({"role": "assistant", "content": f"Answer {i}."})
            messages.append({"role": "user", "content": [{"type": "text", "text": text}]})
        tools = [dict(t) for t in self.tools]
        system = [{"type": "text", "text": self.system()}]
        if "tool" in marks and tools:
            tools[-1]["cache_control"] = cc(marks["tool"])
        if "system" in marks:
            system[0]["cache_control"] = cc(marks["system"])
        users = [m for m in messages if m["role"] == "user"]
        if "earlier user" in marks and len(users) > 1:
            users[-2]["content"][-1]["cache_control"] = cc(marks["earlier user"])
        if "last user" in marks:
            users[-1]["content"][-1]["cache_control"] = cc(marks["last user"])
        body = {
            "model": SONNET_46,
            "max_tokens": 0 if kind == "warm-up" else 30,
            "system": system,
            "messages": messages,
        }
        if tools:
            body["tools"] = tools
        if automatic:
            body["cache_control"] = cc(automatic)
        if kind == "stream":
            body["stream"] = True
        return body

    def change(self, what: str, rng: int) -> None:
        if what == "system":
            self.stamp = (self.stamp + 1 + rng) % 60
        elif what == "tool edit" and self.tools:
            self.tools[rng % len(self.tools)]["description"] += " Edited."
        elif what == "tool add":
            self.tools.append(tool(f"mcp__slack__post{rng}", "Post a message."))
        elif what == "tool remove" and self.tools:
            self.tools.pop(rng % len(self.tools))
        elif what == "message edit" and len(self.users) > 1:
            at = rng % (len(self.users) - 1)
            self.users[at] = self.users[at] + " (edited)"
        elif what == "turn":
            self.users.append(text_of(50 + 37 * (rng % 40), f"question {len(self.users)}"))


@st.composite
def placements(draw) -> tuple[dict[str, str], str | None]:
    """Up to four breakpoints, 1h ones before 5m ones as the API requires."""
    chosen = draw(st.lists(st.sampled_from(SPOTS), unique=True, max_size=4))
    automatic = draw(st.sampled_from([None, None, "5m", "1h"]))
    if automatic and len(chosen) == 4:
        chosen = chosen[:3]
    order = [s for s in SPOTS if s in chosen]  # tools, system, then messages
    ttls = draw(st.lists(st.sampled_from(["5m", "1h"]), min_size=len(order), max_size=len(order)))
    ttls = sorted(ttls, key=lambda t: t == "5m")  # every 1h first
    if automatic == "1h" and "5m" in ttls:
        automatic = "5m"
    if "last user" in order:  # the automatic one would land on that block: one or the other
        automatic = None
    return dict(zip(order, ttls, strict=True)), automatic


CHANGES = (
    "turn",
    "turn",
    "turn",
    "system",
    "tool edit",
    "tool add",
    "tool remove",
    "message edit",
    "none",
)
step = st.tuples(
    st.sampled_from(CHANGES),
    st.integers(0, 1000),
    placements(),
    st.sampled_from(["turn", "turn", "stream", "warm-up"]),
    st.sampled_from(PAUSES),
)


def clear_of_boundaries(pauses: list[int]) -> bool:
    """No run of consecutive pauses within 2 s of a lifetime: the simulator and the inspector
    read one clock a few milliseconds apart, which must not decide an expiry."""
    for i in range(len(pauses)):
        total = 0
        for pause in pauses[i:]:
            total += pause
            if any(abs(total - life) < 2 for life in (300, 3600)):
                return False
    return True


def built_of(body: dict) -> BuiltRequest:
    flat = flatten_request(body, model=MODEL)
    points = resolve_breakpoints(flat, body.get("cache_control"))
    return BuiltRequest.as_sent(body, flat, tuple(points), MODEL)


def usage_of(response: httpx.Response, streamed: bool) -> dict:
    if not streamed:
        return response.json()["usage"]
    usage = {}
    for line in response.text.splitlines():
        if line.startswith("data:"):
            event = json.loads(line[5:])
            if event["type"] == "message_start":
                usage.update(event["message"]["usage"])
            elif event["type"] == "message_delta":
                usage.update({k: v for k, v in event["usage"].items() if v is not None})
    return usage


KEYS = iter(range(10**6))


# A 1h entry read through the lookback of a later 5m breakpoint is refreshed for an hour: the
# inspector's own ledger refreshed it for five minutes, and predicted a miss an hour later.
ONE_HOUR_READ_THEN_READ_AGAIN = [
    ("none", 0, ({"system": "1h"}, None), "turn", 0),
    ("turn", 0, ({"last user": "5m"}, None), "turn", 2903),
    ("turn", 1, ({"last user": "5m"}, None), "stream", 2903),
]


@settings(
    max_examples=50,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(step, min_size=2, max_size=7))
@example(steps=ONE_HOUR_READ_THEN_READ_AGAIN)
def test_predicted_read_is_the_simulators_read_and_the_apps_ledger_prediction(inspected, steps):
    server, sim, clock = inspected
    assume(clear_of_boundaries([s[4] for s in steps]))
    key = f"sk-ant-property-{next(KEYS):06d}"  # a fresh cache: keys are isolated
    conversation = Conversation()
    ledger = CacheLedger(clock.now)  # the app's own, fed the same requests
    previous = None
    with httpx.Client(timeout=30) as client:
        for what, rng, (marks, automatic), kind, pause in steps:
            if pause:
                raw_post(sim.base_url, "/_sim/clock/advance", {"seconds": pause})
            conversation.change(what, rng)
            body = conversation.body(marks, automatic, kind)
            built = built_of(body)
            ours = ledger.predict(built)
            started = clock.now()
            before = server.proxy.lines.total
            response = client.post(
                server.base_url + "/v1/messages",
                json=body,
                headers={"x-api-key": key, "anthropic-version": "2023-06-01"},
            )
            assert response.status_code == 200, response.text
            usage = Usage.from_api(usage_of(response, kind == "stream"))
            line = wait_for(server, before + 1)[-1]
            assert line.predicted_read == usage.read == ours.read_tokens, (line, marks, automatic)
            why = explain(built, usage, ours, previous, ledger)
            ledger.record(built, usage, started)
            previous = built
            assert bool(line.miss_reason) == why.is_miss, (line.miss_reason, why)
            assert why.is_miss == (usage.read < why.possible_tokens)


def send(server, key: str, body: dict) -> Line:
    before = server.proxy.lines.total
    headers = {"x-api-key": key, "anthropic-version": "2023-06-01"}
    httpx.post(server.base_url + "/v1/messages", json=body, headers=headers, timeout=30)
    return wait_for(server, before + 1)[-1]


def test_a_request_that_read_all_it_could_carries_no_miss_reason(inspected):
    """Issue 36.11: 3 of 4 requests that read all they could carried a reason (the question
    after the breakpoint changed, so "an earlier message changed")."""
    server, _, _ = inspected
    conversation = Conversation()
    lines = []
    for question in ("What is clause 1?", "And clause 2?", "And clause 3?", "And 4?"):
        conversation.users = [question]
        lines.append(
            send(server, "sk-ant-reads-all", conversation.body({"system": "5m"}, None, "turn"))
        )
    assert lines[0].read == 0 and all(line.read > 1500 for line in lines[1:])
    assert [line.miss_reason for line in lines] == [""] * 4


def test_a_retired_model_is_a_failure_with_its_status_not_a_turn(inspected):
    """Issue 36.11: a 404 for a retired model was shown as a turn that read nothing."""
    server, _, _ = inspected
    body = {
        "model": "claude-3-haiku-20240307",
        "max_tokens": 5,
        "messages": [{"role": "user", "content": "hi"}],
    }
    line = send(server, "sk-ant-retired", body)
    assert (line.kind, line.status) == ("failed", 404)
    assert "not_found_error" in line.error and "retired" in line.error
    assert line.cost_usd is None and not line.miss_reason
    assert "failed: HTTP 404 · not_found_error" in line.text()


def test_the_live_entries_count_down_and_writes_are_labelled_by_ttl(inspected):
    """Issue 36.11 and 36.13: the sessions' live entries say the time they have left as of now;
    "wrote 31,230/0" says which is 5m and which 1h."""
    server, sim, _ = inspected
    conversation = Conversation()
    line = send(server, "sk-ant-countdown", conversation.body({"system": "1h"}, None, "turn"))
    assert line.written_1h > 1500 and line.written_5m == 0
    assert f"wrote 5m 0 / 1h {line.written_1h:,}" in line.text()
    mine = [s for s in server.proxy.observer.summaries() if f"{line.session} (" in s]
    assert "59:59 left (1h)" in mine[0] or "1:00:00 left (1h)" in mine[0], mine
    raw_post(sim.base_url, "/_sim/clock/advance", {"seconds": 600})
    later = [s for s in server.proxy.observer.summaries() if f"{line.session} (" in s]
    assert "49:59 left (1h)" in later[0] or "50:00 left (1h)" in later[0], later


def test_a_program_that_clears_tool_results_is_predicted_as_the_model_reads_it(inspected):
    """A new compaction/context-editing finding: the inspector predicted from the body as sent,
    not as the API reads it after clearing (context-editing.md), so its predicted read was not
    the simulator's for any program that clears."""
    import anthropic

    from tests.test_sim_context_management import CLEAR, EDITING, TOOLS, tool_loop

    server, sim, _clock = inspected
    client = anthropic.Anthropic(base_url=server.base_url, api_key="k", max_retries=0)
    before = server.proxy.lines.total
    for uses in (5, 6):  # the second clears more and reads what the first wrote, up to it
        client.beta.messages.create(
            model=SONNET_46, max_tokens=20, tools=TOOLS, messages=tool_loop(uses),
            betas=EDITING, context_management=CLEAR,
        )  # fmt: skip
    lines = wait_for(server, before + 2)[-2:]
    assert [line.predicted_read for line in lines] == [line.read for line in lines]
    assert lines[1].read > 0
