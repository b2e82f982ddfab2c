"""The inspector of other programs (issue 30): real clients pointed at ``cachescope-inspect`` in
front of the simulator get what the simulator sent, and each request's line says what the client
saw; a changed system prompt is explained; the key never appears; hostile traffic does not bring
it down."""

import json

import anthropic
import httpx2 as httpx
import pytest

from app.facts.catalogue import default_catalogue
from app.inspect.cli import main
from app.inspect.observer import Observer
from app.inspect.proxy import InspectProxy
from app.simulator.runner import ServerThread
from tests.helpers import SONNET_46, raw_post

KEY = "sk-ant-inspect-secret-0123456789"
SYSTEM = "You answer questions about a long contract. " * 300


def lines_of(server, count: int, timeout: float = 10.0) -> list:
    """The endpoint's lines once there are ``count``: each is recorded just after its client
    has the whole response, so the client can be a moment ahead."""
    import time

    deadline = time.monotonic() + timeout
    while len(server.proxy.lines) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    return server.proxy.lines.recent()


def system(text=SYSTEM):
    return [{"type": "text", "text": text, "cache_control": {"type": "ephemeral"}}]


def test_a_cached_chat_through_the_inspector_matches_what_the_client_saw(inspector):
    client = anthropic.Anthropic(base_url=inspector.base_url, api_key=KEY, max_retries=0)
    seen, messages = [], []
    for i, question in enumerate(["What is clause 1?", "And clause 2?", "And clause 3?"]):
        messages.append({"role": "user", "content": question})
        kw = {"model": SONNET_46, "max_tokens": 50, "system": system(), "messages": messages}
        if i == 1:  # one streamed, event by event through the proxy
            with client.messages.stream(**kw) as stream:
                reply = stream.get_final_message()
        else:
            reply = client.messages.create(**kw)
        seen.append(reply.usage)
        messages.append({"role": "assistant", "content": reply.content})
    messages.append({"role": "user", "content": "And clause 4?"})
    changed = client.messages.create(
        model=SONNET_46,
        max_tokens=50,
        system=system("Today is 3 December 2026. " + SYSTEM),
        messages=messages,
    )
    seen.append(changed.usage)
    lines = lines_of(inspector, 4)
    assert [line.kind for line in lines] == ["turn", "stream", "turn", "turn"]
    for line, usage in zip(lines, seen, strict=True):
        assert line.read == usage.cache_read_input_tokens
        assert line.written_5m + line.written_1h == usage.cache_creation_input_tokens
        assert line.uncached == usage.input_tokens
        assert line.predicted_read == line.read  # the prediction from the client's own history
    assert lines[1].read > 3000 and lines[3].read == 0
    assert "the system prompt was edited at system.0" in lines[3].miss_reason
    assert len({line.session for line in lines}) == 1 and lines[0].cost_usd > 0
    assert KEY not in json.dumps([line.as_dict() for line in lines])


def test_responses_pass_through_unchanged(inspector, sim):
    body = {
        "model": SONNET_46,
        "max_tokens": 30,
        "system": system(),
        "messages": [{"role": "user", "content": "hi"}],
    }
    headers = {"x-api-key": KEY, "anthropic-version": "2023-06-01"}
    direct = httpx.post(
        f"{sim.base_url}/v1/messages", json=body, headers=headers | {"x-api-key": "other"}
    )
    through = httpx.post(f"{inspector.base_url}/v1/messages", json=body, headers=headers)
    a, b = direct.json(), through.json()
    a.pop("id"), b.pop("id")
    assert through.status_code == direct.status_code == 200 and a == b
    assert through.headers["content-type"] == direct.headers["content-type"]
    # Errors pass through as the upstream gave them, with their status.
    bad = httpx.post(
        f"{inspector.base_url}/v1/messages", json={"model": SONNET_46}, headers=headers
    )
    assert bad.status_code == 400 and bad.json()["error"]["type"] == "invalid_request_error"
    models = httpx.get(f"{inspector.base_url}/v1/models", headers=headers)
    assert models.status_code == 200 and models.json()["data"]


def test_hostile_traffic_gets_clear_errors_and_the_inspector_stays_up(inspector, sim):
    headers = {"x-api-key": KEY, "anthropic-version": "2023-06-01"}
    huge = httpx.post(
        f"{inspector.base_url}/v1/messages",
        content=b'{"model": "x", "messages": "' + b"a" * (50 * 1024 * 1024) + b'"}',
        headers=headers | {"content-type": "application/json"},
        timeout=60,
    )
    assert huge.status_code == 413
    # A stream the upstream breaks off after an error event: the client gets what came, then
    # the same broken connection it gets without the inspector; the line says so.
    stream = {
        "model": SONNET_46,
        "max_tokens": 200,
        "stream": True,
        "messages": [{"role": "user", "content": "tell me a story"}],
    }
    seen = {}
    for name, base in (("direct", sim.base_url), ("through", inspector.base_url)):
        got = []
        with pytest.raises(httpx.RemoteProtocolError):  # noqa: PT012 (the break is mid-read)
            with httpx.stream(
                "POST",
                f"{base}/v1/messages",
                json=stream,
                headers=headers | {"x-sim-fault": "stream_error"},
            ) as response:
                for text in response.iter_text():
                    got.append(text)
        seen[name] = "".join(got)
    assert "event: error" in seen["through"] and "event: error" in seen["direct"]
    cut = lines_of(inspector, 1)[-1]
    assert not cut.complete and "broke off" in cut.note
    dead = InspectProxy("http://127.0.0.1:9", Observer(default_catalogue()))
    with ServerThread(dead.make_app) as server:
        gone = httpx.post(f"{server.base_url}/v1/messages", json={}, headers=headers)
    assert gone.status_code == 502 and "could not reach http://127.0.0.1:9" in gone.text
    after = anthropic.Anthropic(base_url=inspector.base_url, api_key=KEY, max_retries=0)
    reply = after.messages.create(
        model=SONNET_46, max_tokens=20, messages=[{"role": "user", "content": "still there?"}]
    )
    assert reply.content and raw_post(sim.base_url, "/_sim/stats", b"", method="GET")[0] == 200


def test_it_listens_on_loopback_unless_told_otherwise(capsys):
    assert main(["--host", "0.0.0.0", "--port", "0"]) == 2
    assert "--allow-remote" in capsys.readouterr().err


@pytest.mark.clients
def test_litellm_through_the_inspector_sees_what_the_inspector_recorded(inspector, monkeypatch):
    """Issue 30: a client nobody here wrote, pointed at the inspector: the usage it reports is
    the usage each line recorded, and the second turn reads what the first wrote."""
    import litellm

    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no network at import

    def ask(question):
        return litellm.completion(
            model=f"anthropic/{SONNET_46}",
            api_base=inspector.base_url,
            api_key=KEY,
            messages=[
                {"role": "system", "content": system()},
                {"role": "user", "content": question},
            ],
            max_tokens=200,
        )

    replies = [ask(q) for q in ("Who signs?", "When does it end?", "Who pays?")]
    lines = lines_of(inspector, 3)
    assert [line.written_5m for line in lines] == [
        r.usage.cache_creation_input_tokens for r in replies
    ]
    assert [line.read for line in lines][1:] == [
        r.usage.cache_read_input_tokens for r in replies[1:]
    ]
    assert lines[2].read > 3000


def test_the_window_shows_other_programs_requests_live_with_their_blocks(
    qtbot, loop, sim, tmp_path
):
    """Issue 30: View → Other programs runs the endpoint in front of where the app's requests go
    (here the simulator); a program's requests appear with their numbers and block map."""
    from tests.uikit import make_window, until

    window, client = make_window(sim.base_url)
    qtbot.addWidget(window)
    dialog = window.other_programs.open()
    dialog.keep_in = tmp_path / "captured"  # the history's folder in the app
    dialog.port.setValue(0)
    dialog.start_button.click()
    assert "ANTHROPIC_BASE_URL=http://127.0.0.1:" in dialog.status.text()
    other = anthropic.Anthropic(base_url=dialog.server.base_url, api_key=KEY, max_retries=0)
    for question in ("What is clause 1?", "And clause 2?"):
        other.messages.create(
            model=SONNET_46,
            max_tokens=30,
            system=system(),
            messages=[{"role": "user", "content": question}],
        )
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 2, timeout=5000)
    assert int(dialog.table.item(1, 3).text().replace(",", "")) > 3000  # read from cache
    dialog.table.selectRow(1)
    assert dialog.strip.prefix is not None and "2 requests" in dialog.sessions.text()
    assert "live: " in dialog.sessions.text() and "left" in dialog.sessions.text()
    # What that program's session would have cost under every policy (issue 29's replay).
    replay = dialog.replay_selected()
    loop.run_until_complete(until(lambda: replay.task.done(), timeout=120))
    assert replay.table.rowCount() == 9 and replay.sentence.text()
    assert not replay.apply_button.isVisible()
    replay.reject()
    dialog.reject()  # closing stops the endpoint, and keeps the run's lines (never the key)
    assert dialog.server is None
    (kept,) = (tmp_path / "captured").glob("*.jsonl")
    text = kept.read_text()
    assert len(text.splitlines()) == 2 and KEY not in text and '"read"' in text
    loop.run_until_complete(client.close())


def test_the_sdk_tool_runner_works_through_the_inspector(inspector):
    """The SDK's tool runner (message threads: a continue step sends the tool result alone)
    runs through the endpoint as it does directly, and each step's line has its usage."""
    from anthropic import beta_tool

    @beta_tool
    def calculator(expression: str) -> str:
        """Evaluate an arithmetic expression.

        Args:
            expression: the expression
        """
        return "14"

    client = anthropic.Anthropic(base_url=inspector.base_url, api_key=KEY, max_retries=0)
    runner = client.beta.messages.tool_runner(
        model=SONNET_46,
        max_tokens=300,
        system=system(),
        tools=[calculator],
        messages=[{"role": "user", "content": "use calculator: 2+3*4"}],
    )
    first, second = list(runner)
    assert second.stop_reason == "end_turn" and "14" in second.content[-1].text
    lines = lines_of(inspector, 2)
    assert [line.read for line in lines] == [
        first.usage.cache_read_input_tokens,
        second.usage.cache_read_input_tokens,
    ]
    assert lines[1].read >= lines[0].written_5m > 3000


def test_two_hundred_concurrent_streams_all_arrive(inspector):
    """Hostile input includes 200 concurrent streams: every client gets its whole stream and the
    endpoint records each."""
    import asyncio

    body = {
        "model": SONNET_46,
        "max_tokens": 100,
        "stream": True,
        "messages": [{"role": "user", "content": "count to ten"}],
    }

    async def all_of_them():
        async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=200)) as c:

            async def one(i):
                headers = {"x-api-key": f"{KEY}-{i % 7}", "anthropic-version": "2023-06-01"}
                response = await c.post(
                    f"{inspector.base_url}/v1/messages", json=body, headers=headers
                )
                return response.status_code, response.text.count("event: message_stop")

            return await asyncio.gather(*(one(i) for i in range(200)))

    results = asyncio.run(all_of_them())
    assert results == [(200, 1)] * 200
    assert len(lines_of(inspector, 200)) == 200


@pytest.mark.clients
def test_lm_deluge_through_the_inspector_sees_what_the_inspector_recorded(inspector, monkeypatch):
    from lm_deluge import LLMClient
    from lm_deluge.models import register_model

    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    register_model(
        id="cachescope-inspected-sonnet",
        name=SONNET_46,
        api_base=inspector.base_url + "/v1",
        api_key_env_var="ANTHROPIC_API_KEY",
        api_spec="anthropic",
        reasoning_model=True,
    )
    client = LLMClient("cachescope-inspected-sonnet", max_new_tokens=200)
    prompt = SYSTEM + "\n\nWho are the parties?"
    first, second = (
        client.process_prompts_sync([prompt], show_progress=False, cache="last_user_message")[0]
        for _ in range(2)
    )
    assert not first.is_error and not second.is_error, first.error_message
    lines = lines_of(inspector, 2)
    assert [line.written_5m for line in lines][0] == first.usage.cache_write_tokens
    assert lines[1].read == second.usage.cache_read_tokens > 3000
    assert KEY not in json.dumps([line.as_dict() for line in lines])


def test_the_window_asks_to_select_a_request_and_counts_down_without_new_requests(qtbot, sim):
    """Issue 36.11 and 36.13: the live entries' time left stood still until the next request
    arrived; with requests listed and none selected, the block strip was blank; the written
    column did not say which TTL."""
    from app.ui.features.other_programs.dialog import OtherProgramsDialog

    dialog = OtherProgramsDialog(sim.base_url, default_catalogue())
    qtbot.addWidget(dialog)
    dialog.port.setValue(0)
    dialog.start_button.click()
    other = anthropic.Anthropic(base_url=dialog.server.base_url, api_key=KEY, max_retries=0)
    other.messages.create(
        model=SONNET_46,
        max_tokens=20,
        system=system(),
        messages=[{"role": "user", "content": "hi"}],
    )
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 1, timeout=5000)
    assert dialog.table.horizontalHeaderItem(5).text() == "Written 5m / 1h"
    assert "Select a request" in dialog.pick.text()
    before = dialog.sessions.text()
    assert "left (5m)" in before
    qtbot.waitUntil(lambda: dialog.sessions.text() != before, timeout=3000)  # no new request
    dialog.table.selectRow(0)
    assert dialog.pick.text() == "" and dialog.strip.prefix is not None
    dialog.reject()
