"""Where the keep-alive for other programs is switched on and shown (issue 38, point 4): the
command line (off by default; the start line says it is on, with the cap), the Other programs
window (a checkbox and a cap, off by default; pings, stops and rewrites as rows), and clients
nobody here wrote (litellm, lm-deluge: the ``clients`` extra) whose pause the pings covered."""

from __future__ import annotations

import asyncio
import threading
import time

import anthropic
import pytest

from app.facts.catalogue import default_catalogue
from app.inspect.cli import main, parse, serve
from app.inspect.keepalive import CAP_USD_PER_HOUR
from tests.helpers import SONNET_46
from tests.keepalive_kit import KEY, SYSTEM, Kept, advance, system, tapped

DUE, REST = 285, 75


def test_keep_alive_is_off_unless_asked_and_its_cap_is_checked(capsys):
    assert parse([]).keep_alive is False
    assert parse(["--keep-alive"]).cap_usd_per_hour is None  # the app's cap
    assert parse(["--keep-alive", "--cap-usd-per-hour", "0.5"]).cap_usd_per_hour == 0.5
    for argv, said in (
        (["--cap-usd-per-hour", "1"], "--cap-usd-per-hour caps the keep-alive: add --keep-alive"),
        (["--keep-alive", "--cap-usd-per-hour", "-1"], "-1 is not a sum of dollars"),
        (["--keep-alive", "--cap-usd-per-hour", "nan"], "nan is not a sum of dollars"),
        (["--keep-alive", "--cap-usd-per-hour", "lots"], "'lots' is not a number of dollars"),
    ):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert said in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def start_line(argv: list[str], capsys) -> str:
    """What ``cachescope-inspect ARGV`` prints when it starts (then it is stopped)."""
    args = parse(argv)
    started, box = threading.Event(), {}

    def run() -> None:
        loop = asyncio.new_event_loop()
        box["loop"], box["task"] = loop, loop.create_task(serve(args, started))
        try:
            loop.run_until_complete(box["task"])
        except asyncio.CancelledError:
            pass
        loop.close()

    thread = threading.Thread(target=run)
    thread.start()
    assert started.wait(15)
    box["loop"].call_soon_threadsafe(box["task"].cancel)
    thread.join(15)
    return capsys.readouterr().out


def test_the_start_line_says_keep_alive_is_on_with_its_cap(capsys):
    on = start_line(
        ["--simulator", "--port", "0", "--keep-alive", "--cap-usd-per-hour", "0.5"], capsys
    )
    assert "point programs at ANTHROPIC_BASE_URL=http://127.0.0.1:" in on
    assert on.strip().endswith(
        "; keep-alive on: idle sessions' cached prefixes are kept warm with pings billed to"
        " their own keys, at most $0.50/h in all"
    )
    assert f"at most ${CAP_USD_PER_HOUR:.2f}/h" in start_line(
        ["--simulator", "--port", "0", "--keep-alive"], capsys
    )
    assert "keep-alive" not in start_line(["--simulator", "--port", "0"], capsys)


def test_the_window_keeps_programs_warm_only_when_asked_and_shows_each_ping(qtbot, sim):
    from app.ui.features.other_programs.dialog import OtherProgramsDialog

    clock = sim.simulator.store.clock.now
    dialog = OtherProgramsDialog(sim.base_url, default_catalogue(), clock=clock)
    qtbot.addWidget(dialog)
    dialog.port.setValue(0)
    assert not dialog.keep_warm.isChecked() and dialog.cap.value() == CAP_USD_PER_HOUR
    dialog.start_button.click()
    assert dialog.proxy.keepalive is None and "keep-alive" not in dialog.status.text()
    dialog.start_button.click()  # stop
    dialog.keep_warm.setChecked(True)
    dialog.cap.setValue(0.5)
    dialog.start_button.click()
    assert "keep-alive on" in dialog.status.text() and "at most $0.50/h" in dialog.status.text()
    assert dialog.proxy.keepalive.cap == 0.5 and not dialog.keep_warm.isEnabled()
    other = anthropic.Anthropic(base_url=dialog.server.base_url, api_key=KEY, max_retries=0)

    def ask(question: str) -> None:
        other.messages.create(
            model=SONNET_46,
            max_tokens=30,
            system=system(),
            messages=[{"role": "user", "content": question}],
        )

    def row(n: int) -> tuple[str, str]:
        qtbot.waitUntil(lambda: dialog.table.rowCount() > n, timeout=5000)
        return dialog.table.item(n, 2).text(), dialog.table.item(n, 8).text()

    ask("Who signs?")
    row(0)
    advance(sim.base_url, DUE)
    kind, why = row(1)
    assert kind == "ping" and why.startswith("kept 3,300 tokens warm: a rewrite would cost $")
    advance(sim.base_url, 280)
    kind, why = row(2)
    assert kind == "keep-alive" and why.startswith("stopped keeping s1 warm: re-reading 3,300")
    advance(sim.base_url, 300)
    ask("Who pays?")
    kind, why = row(3)
    assert kind == "turn" and "rewrote 3,300 tokens after 14 min idle: $" in why
    assert "(1 keep-alive ping, $0.0010)" in dialog.sessions.text()
    keepalive = dialog.proxy.keepalive
    dialog.reject()  # stops the endpoint: every key forgotten
    assert keepalive.holding() == [] and keepalive.watches == {}
    assert dialog.keep_warm.isEnabled()


def covered_pause(sim, ask) -> tuple[list, object, object]:
    """Two requests of a client through the inspector with ``--keep-alive``, six minutes apart
    on the simulator's clock: (its lines, the tap, the client's two replies)."""
    with tapped(sim.base_url) as tap, Kept(tap.url, sim.simulator.store.clock.now) as kept:
        first = ask(kept.base_url, "Who are the parties?")
        kept.wait_lines(1)
        advance(sim.base_url, DUE)
        kept.wait_lines(2)
        advance(sim.base_url, REST)
        second = ask(kept.base_url, "When does it end?")
        lines = kept.wait_lines(3)
        time.sleep(0.05)
    return lines, tap, (first, second)


def check_covered(lines, tap, read_then: int, read_after: int) -> None:
    assert [line.kind for line in lines] == ["turn", "ping", "turn"]
    (ping,) = tap.pings
    assert (lines[1].read, lines[1].uncached) == (
        ping.usage["cache_read_input_tokens"],
        ping.usage["input_tokens"],
    )
    assert lines[1].read == read_then and read_after >= read_then > 3000


@pytest.mark.clients
def test_litellm_reads_after_a_pause_the_pings_covered(sim, monkeypatch):
    import litellm

    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no network at import

    def ask(base_url, question):
        return litellm.completion(
            model=f"anthropic/{SONNET_46}",
            api_base=base_url,
            api_key=KEY,
            messages=[
                {"role": "system", "content": system()},
                {"role": "user", "content": question},
            ],
            max_tokens=50,
        )

    lines, tap, (first, second) = covered_pause(sim, ask)
    check_covered(
        lines,
        tap,
        first.usage.cache_creation_input_tokens,
        second.usage.cache_read_input_tokens,
    )


@pytest.mark.clients
def test_lm_deluge_reads_after_a_pause_the_pings_covered(sim, monkeypatch):
    from lm_deluge import LLMClient
    from lm_deluge.models import register_model

    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)

    def ask(base_url, question):
        name = f"cachescope-kept-{base_url.rsplit(':', 1)[1]}"
        register_model(
            id=name,
            name=SONNET_46,
            api_base=base_url + "/v1",
            api_key_env_var="ANTHROPIC_API_KEY",
            api_spec="anthropic",
            reasoning_model=True,
        )
        client = LLMClient(name, max_new_tokens=50)
        prompt = SYSTEM + "\n\nWho are the parties?"  # the same prompt again after the pause
        (reply,) = client.process_prompts_sync(
            [prompt], show_progress=False, cache="last_user_message"
        )
        assert not reply.is_error, reply.error_message
        return reply

    lines, tap, (first, second) = covered_pause(sim, ask)
    assert tap.pings[0].body["max_tokens"] == 0
    check_covered(lines, tap, first.usage.cache_write_tokens, second.usage.cache_read_tokens)
