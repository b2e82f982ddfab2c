"""Branches through the window, as a new user met them (Sonnet 5 on the built-in simulator): an
edit and resend, then Regenerate, make two forks; they come back with their lines after a
restart, the tokens every branch "shares up to here" are what the branches' requests hold in
common, and a conversation with branches and a stopped turn is replayed (What would it have
cost) instead of being refused."""

import re

from app.caching.costs import Kind
from app.simulator.runner import SimulatorThread
from app.simulator.server import SimulatorConfig
from tests.helpers import text_of
from tests.uikit import close_history, drop_files, make_window, turn_over, until

SONNET_5 = "claude-sonnet-5"


def on_sonnet_5(window) -> None:
    """The new user's model, and a TTL of their choosing (the simulator's reply quotes the TTL,
    so the two answers of a Regenerate are the same words, as they were for them)."""
    conv = window.session.conversation
    conv.model, conv.ttl = SONNET_5, "5m"


def menu_entry(window, menu: str, text: str):
    (found,) = [a for a in window.menus[menu].actions() if a.text() == text]
    return found


async def say(window, text):
    window.composer.edit.setPlainText(text)
    window.sending.send()
    await until(lambda: turn_over(window))


async def two_forks(window, tmp_path):
    """A question under a document, a second one; the second edited and sent again (a fork at
    the question), then answered again with Ctrl+R (a fork at the reply)."""
    (tmp_path / "report.txt").write_text(text_of(6_000, "report"))
    drop_files(window.composer.edit, [tmp_path / "report.txt"])
    await until(lambda: window.composer.attachments)
    await say(window, "What does the report conclude?")
    await say(window, "And the second chapter?")
    window.messages.edit_message(2)
    await say(window, "And the third chapter?")
    turns = len(window.session.totals.records)
    menu_entry(window, "conversation", "&Regenerate reply").trigger()  # Ctrl+R
    await until(lambda: turn_over(window) and len(window.session.totals.records) > turns)


def branch_lines(window) -> dict[int, str]:
    """Each fork's line as the pane shows it, links taken out (their token is the pane's own,
    per launch): message position -> "‹ previous **Branch 2 of 2** next › · *all share ...*"."""
    rows = [r.body for r in window.view.rows() if "**Branch " in r.body]
    lines = [re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", r.split("\n\n")[0]) for r in rows]
    return dict(zip(sorted(window.view.branches), lines, strict=True))


def shared(line: str) -> int:
    """The figure of "all share N tokens" (the pane escapes its commas as Markdown)."""
    found = re.search(r"all share ([\d,\\]+) tokens", line)
    return int(re.sub(r"\D", "", found.group(1)))


def test_branches_come_back_after_a_restart_with_their_lines_and_their_links(
    qtbot, loop, sim, tmp_path
):
    """Finding 3: two forks, each "Branch 2 of 2"; after quitting and opening the conversation
    again every branch line was gone (the branches were in the history, unreachable): the pane
    dropped the lines the messages feature had just drawn, because it heard of the conversation
    on screen after the feature did. Now a new window on the same data folder shows both forks'
    lines as they were, and their links switch."""
    folder = tmp_path / "data"
    window, client = make_window(sim.base_url, folder=folder, system_tokens=2000)
    qtbot.addWidget(window)
    on_sonnet_5(window)

    async def first_run():
        await two_forks(window, tmp_path)
        lines = branch_lines(window)
        await client.close()
        await close_history(window)  # Ctrl+Q: everything saved, the history closed
        return lines, window.session.id

    before, conversation_id = loop.run_until_complete(first_run())
    window.close()
    again, client = make_window(sim.base_url, folder=folder)
    qtbot.addWidget(again)

    async def second_run():
        assert await again.history.open(conversation_id)
        lines = branch_lines(again)
        for row in [r.body for r in again.view.rows() if "**Branch " in r.body][:1]:
            again.view.follow(row.split("[‹ previous](")[1].split(")")[0])  # a click on it
        shown = [m.text for m in again.session.conversation.messages if m.role == "user"]
        # The inspector opens on the last turn of the branch shown, as the sidebar says it
        # (it opened on the other branch's: read 39,160 against the sidebar's 39,423).
        picked = again.inspector.current()
        ids = {m.id for m in again.session.conversation.messages}
        await client.close()
        await close_history(again)
        return lines, shown, picked, ids

    after, shown, picked, ids = loop.run_until_complete(second_run())
    assert picked is not None and picked.kind == "turn" and picked.reply_id in ids
    assert sorted(before) == [2, 3] and all("**Branch 2 of 2**" in v for v in before.values())
    assert after == before
    assert shown[-1] == "And the second chapter?"  # the link switched back to the first path
    assert "Switched. Branch 1 of 2" in again.status_label.text()


def test_the_tokens_branches_share_stop_at_the_fork_and_never_count_the_reply(
    qtbot, loop, sim, tmp_path
):
    """Finding 7 (prompt-caching.md: the cache is a prefix): at the fork Regenerate made, the
    line said "all share 108,315 tokens" while each branch's request held 108,202: the common
    prefix ran on through the two answers (the same words from the simulator) and the draft the
    next turn would add; after a stopped turn it said 108,308. Now it is what the two requests
    that answered share: all of the request, and not a token of the answers. At the question
    fork it still counts the document the edited question kept."""
    window, client = make_window(sim.base_url, system_tokens=2000)
    qtbot.addWidget(window)
    on_sonnet_5(window)

    async def scenario():
        await two_forks(window, tmp_path)
        first = branch_lines(window)
        window.composer.edit.setPlainText("A very long answer, please")
        window.sending.send()
        window.sending.stop()  # Esc at once: the turn is stopped before any answer
        await until(lambda: turn_over(window))
        await say(window, "Thanks. One more thing?")
        later = branch_lines(window)
        await client.close()
        return first, later

    first, later = loop.run_until_complete(scenario())
    turns = [r for r in window.session.totals.records if r.kind == Kind.TURN]
    asked, regenerated = turns[2], turns[3]  # the edited question's answer, and Ctrl+R's
    prompt = regenerated.usage.input_total
    assert prompt == asked.usage.input_total  # one request, asked twice
    assert shared(first[3]) == prompt, first[3]
    assert shared(later[3]) == prompt, later[3]
    # The question fork shares the system prompt, the document, the first exchange: the
    # earlier path's second question is where they part.
    assert 8_000 < shared(first[2]) < prompt, first[2]
    assert shared(later[2]) == shared(first[2])


def stop_at_first(window, kind) -> None:
    """Esc the moment the reply's first event of ``kind`` is shown (a thinking delta: nothing of
    the answer has come; a text delta: a few words of it)."""

    def listener(event):
        if isinstance(event, kind) and window.chat.busy():
            window.workspace.events.unsubscribe(listener)
            window.sending.stop()

    window.workspace.events.subscribe(listener)


def test_a_conversation_with_branches_and_stopped_turns_is_replayed_not_refused(
    qtbot, loop, tmp_path
):
    """Finding 4: What would it have cost, on two forks and a stopped turn, said "None of its 8
    requests could be replayed ... (tool rounds)", with no tool in sight, and showed nothing.
    A stopped turn may leave a record and no reply (stopped while it thought), or neither
    (stopped before the API answered), or a record and part of a reply. Each is matched as it
    was: the first is replayed with a one-token reply, the second's message goes with the
    user's next one (the API joins consecutive user turns: messages.md), the third keeps its
    record. Every request the history holds is then compared, and none blames tool rounds."""
    from app.engine import events as ev

    with SimulatorThread(SimulatorConfig(time_scale=0.5)) as slow:
        window, client = make_window(slow.base_url, system_tokens=2000)
        qtbot.addWidget(window)
        on_sonnet_5(window)
        window.session.conversation.thinking = {"type": "adaptive", "display": "summarized"}

        async def scenario():
            await two_forks(window, tmp_path)
            window.composer.edit.setPlainText("A very long answer, please")
            window.sending.send()
            window.sending.stop()  # Esc at once: no record, no reply
            await until(lambda: turn_over(window))
            await say(window, "Then only the fourth chapter?")
            stop_at_first(window, ev.ThinkingDelta)  # a record, no reply
            await say(window, "And the fifth?")
            await say(window, "The fifth chapter, please.")
            stop_at_first(window, ev.TextDelta)  # a record and part of a reply
            await say(window, "And the sixth?")
            await say(window, "Thanks, that is all.")
            dialog = window.replay.open()
            await until(lambda: dialog.task.done(), timeout=180)
            await client.close()
            return dialog

        dialog = loop.run_until_complete(scenario())
    conv = window.session.conversation
    turns = [r for r in window.session.totals.records if r.kind == Kind.TURN and not r.error]
    assert [m.interrupted for m in conv.messages if m.role == "assistant"].count(True) == 1
    assert len(turns) == 9 and len(conv.branches) == 2
    said = dialog.sentence.text()
    assert said.startswith(
        "The replay (Cachescope, your settings) reproduces the cache reads of 9 of 9 requests"
    ), said
    assert "tool round" not in said + dialog.notes.text()
    assert dialog.table.rowCount() == 9
    notes = dialog.notes.text()
    assert "1 message(s) stopped before the API answered (no request record) replayed" in notes
    assert "1 message(s) that got no reply replayed with a one-token reply" in notes
