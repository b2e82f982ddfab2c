"""The message list: updates touch only the rows that changed, the cache is drawn per message,
and the chat actions (copy code, regenerate, retry from the error card, edit, fold) work."""

import anthropic
import pytest
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QPushButton

from app.conversation.blocks import TextBlock, ThinkingBlock
from app.storage.preferences import Preferences
from app.ui.widgets.conversation_view import ConversationView
from app.ui.widgets.message_rows import CARD_CHARS
from tests.helpers import SONNET_46, text_of
from tests.uikit import make_window, turn_over, until


def changed_rows(view: ConversationView, action) -> list[int]:
    """The rows an action made the list redraw (an inserted row counts as -1 - its position)."""
    touched: list[int] = []
    view.model_.dataChanged.connect(lambda a, b: touched.extend(range(a.row(), b.row() + 1)))
    inserted: list[int] = []
    view.model_.rowsInserted.connect(lambda _p, a, b: inserted.extend(range(a, b + 1)))
    action()
    return sorted(set(touched)) + [-1 - i for i in inserted]


def test_a_turn_end_and_a_pin_update_only_the_rows_that_changed(qtbot, loop, sim):
    window, client = make_window(sim.base_url)
    qtbot.addWidget(window)
    conv = window.session.conversation
    for i in range(40):
        conv.add_user_text(f"question {i}")
        conv.add("assistant", TextBlock(f"answer {i}"))
    window.workspace.show(window.chat)
    view = window.view
    # The first pin shows the request Send would send: its flags and, on every row, what the
    # cache would give it (nothing cached yet: all written); only rows whose marks changed.
    before = list(view.rows())
    touched = changed_rows(view, lambda: window.messages.pin_message(4, True))
    assert touched == [
        i for i, (a, b) in enumerate(zip(before, view.rows(), strict=True)) if a != b
    ]
    # The next pin moves one flag: the pinned message's row and the row whose flag went away.
    touched = changed_rows(view, lambda: window.messages.pin_message(10, True))
    assert 0 < len(touched) <= 4 and view.position_of_message(10) in touched
    # A reply ends: its streaming row becomes the message in place; nothing is inserted then.
    # (The first turns move every row's marks: written, then read; the third reads as before.)
    touched, inserted = [], []
    view.model_.dataChanged.connect(lambda a, b: touched.extend(range(a.row(), b.row() + 1)))
    view.model_.rowsInserted.connect(lambda _p, a, b: inserted.append((a, b)))

    async def turns():
        for n in range(3):
            window.composer.edit.setPlainText(f"one more, {n}")
            window.sending.send()
            await until(lambda: view.model_.position_of("reply") is not None)
            touched.clear()
            inserted.clear()
            await until(lambda: turn_over(window))

    loop.run_until_complete(turns())
    assert inserted == []  # the reply's row stayed the reply's row
    assert view.rows()[-1].kind == "message" and view.rows()[-1].turn is not None
    assert len(view.rows()) == 87 and len(set(touched)) <= 6, sorted(set(touched))
    loop.run_until_complete(client.close())


def test_a_failed_turn_shows_an_error_card_and_retry_answers(qtbot, loop, sim):
    window, client = make_window("http://127.0.0.1:9")  # nothing listens there
    qtbot.addWidget(window)
    window.composer.edit.setPlainText("hello?")

    async def fail_then_retry():
        window.sending.send()
        await until(lambda: turn_over(window))
        card = window.view.rows()[-1]
        assert card.kind == "error" and "Retry" in card.body
        assert "offline" in window.toolbar.badge.text()
        old = window.engine.client
        window.engine.client = anthropic.AsyncAnthropic(base_url=sim.base_url, api_key="k")
        await old.close()
        window.view.follow(window.view.maker.action("retry"))  # the card's Retry link
        await until(
            lambda: (
                turn_over(window) and window.session.conversation.messages[-1].role == "assistant"
            )
        )
        await window.engine.client.close()

    loop.run_until_complete(fail_then_retry())
    conv = window.session.conversation
    assert [m.role for m in conv.messages] == ["user", "assistant"]  # the message was kept
    assert window.view.rows()[-1].kind == "message"  # the card is gone
    assert "offline" not in window.toolbar.badge.text()


def test_regenerate_replaces_the_last_reply_only(qtbot, loop, sim):
    window, client = make_window(sim.base_url)
    qtbot.addWidget(window)
    conv = window.session.conversation
    conv.add_user_text("first")
    conv.add("assistant", TextBlock("old answer"))

    async def regenerate():
        window.messages.regenerate()
        await until(lambda: turn_over(window))
        await client.close()

    loop.run_until_complete(regenerate())
    assert [m.role for m in conv.messages] == ["user", "assistant"]
    assert conv.messages[-1].text != "old answer" and conv.messages[0].text == "first"


def test_code_blocks_have_a_copy_button_and_links_from_the_model_cannot_act(qapp):
    from app.conversation.conversation import Conversation

    conv = Conversation(model=SONNET_46)
    conv.add_user_text("code please")
    conv.add("assistant", TextBlock("Here:\n\n```python\nx = 1\nprint(x)\n```\n\ndone"))
    view = ConversationView()
    view.resize(800, 600)
    view.show()
    view.show_conversation(conv)
    QGuiApplication.processEvents()
    position = view.position_of_message(1)
    rect = view.visualRect(view.model_.index(position))
    row = view.rows()[position]
    [run] = view.delegate.code_runs(view.delegate.document(row))
    button = view.delegate.copy_button(run, view.delegate.body_origin(row, rect))
    hit = view.hit(button.center().toPoint())
    assert hit[1] == ("copy", "x = 1\nprint(x)")
    # A model's look-alike of the pane's own action links does nothing but get refused.
    refused = []
    view.link_refused.connect(refused.append)
    view.follow("cachescope-action:guess/retry/")
    assert refused == ["cachescope-action:guess/retry/"]


def test_thinking_and_long_pastes_fold_into_cards(qapp):
    from app.conversation.conversation import Conversation

    conv = Conversation(model=SONNET_46)
    pasted = "clause " * (CARD_CHARS // 3)
    conv.add_user_text(pasted)
    conv.add("assistant", ThinkingBlock("secret reasoning " * 50, "sig"), TextBlock("answer"))
    view = ConversationView()
    view.show_conversation(conv)
    user, reply = view.rows()
    assert "Pasted text" in user.body and pasted.strip() not in user.body
    assert "secret reasoning" not in reply.body and "Thinking" in reply.body
    view.toggle_expanded(conv.messages[1].id)
    assert "secret reasoning" in view.rows()[1].body
    view.toggle_expanded(conv.messages[0].id)
    assert "clause clause" in view.rows()[0].body


def test_the_draft_line_prices_the_request_send_would_send(qtbot, loop, sim):
    """Issue 28: the draft line priced the draft alone ("~16 tokens, $0.0000") for a turn that
    paid $0.0727; it now prices the whole request (here a 3,000-token system prompt and 400
    words), as predicted with what is cached, and says the draft's own size too."""
    window, client = make_window(sim.base_url)
    qtbot.addWidget(window)
    window.composer.edit.setPlainText("word " * 400)
    # The pause after typing: the chat decides and says what Send would send.
    loop.run_until_complete(until(lambda: "Send: ~" in window.composer.summary.text()))
    line = window.composer.summary.text()
    sent = int(line.split("Send: ~")[1].split(" ")[0].replace(",", ""))
    draft = int(line.split("the draft (text) is ~")[1].split(" ")[0].replace(",", ""))
    assert sent > 3000 + draft and draft >= 500 and "nothing cached" in line, line
    assert float(line.split("about $")[1].split(" ")[0]) > 0
    loop.run_until_complete(client.close())


def test_geometry_docks_and_the_open_conversation_come_back(qtbot, loop, sim):
    window, client = make_window(sim.base_url)
    qtbot.addWidget(window)
    window.session.conversation.add_user_text("keep me")
    window.show()
    QGuiApplication.processEvents()  # below 960 px the list folds: the window may be narrower
    window.resize(700, 480)  # within the offscreen screen (800x600): restoring keeps it on screen
    window.inspector_dock.show()
    QGuiApplication.processEvents()
    size = (window.width(), window.height())
    window.remember()
    prefs = window.prefs
    assert prefs.last_conversation == window.session.id
    other, client2 = make_window(sim.base_url)
    qtbot.addWidget(other)
    other.settings.prefs = prefs
    assert other.restore()
    other.show()
    QGuiApplication.processEvents()
    assert (other.width(), other.height()) == size
    assert not other.inspector_dock.isHidden()
    other.settings.prefs = Preferences(window_geometry="not base64!")
    assert not other.restore()
    loop.run_until_complete(client.close())
    loop.run_until_complete(client2.close())


def test_the_empty_state_offers_to_attach(qapp):
    from app.conversation.conversation import Conversation

    view = ConversationView()
    view.resize(700, 500)
    view.show()
    asked = []
    view.attach_requested.connect(asked.append)
    view.show_conversation(Conversation(model=SONNET_46))
    assert view.empty.isVisible()
    for button in view.empty.findChildren(QPushButton):
        button.click()
    assert asked == ["document", "image"]
    conversation = Conversation(model=SONNET_46)
    conversation.add_user_text("hi")
    view.show_conversation(conversation)
    assert not view.empty.isVisible()


def test_the_draft_line_says_before_the_send_that_it_crosses_a_price_tier(qtbot, loop, sim):
    """Issue 27: Haiku 5.5 charges 5x on every token of a prompt over 100,000 tokens; a
    150k-token draft was priced at the base rate."""
    from app.conversation.documents import document_from_text

    window, client = make_window(sim.base_url)
    qtbot.addWidget(window)
    window.chat.apply(model="claude-haiku-5-5")
    window.composer.set_draft("", [document_from_text(text_of(150_000, "book"), "book.txt")])
    loop.run_until_complete(until(lambda: "Send: ~" in window.composer.summary.text()))
    line = window.composer.summary.text()
    assert "higher tier on every token" in line, line
    cold = float(line.split("about $")[1].split(" ")[0])
    tokens = int(line.split("Send: ~")[1].split(" ")[0].replace(",", ""))
    # every token written at the tier's $0.625 per million, not the base $0.125
    assert cold == pytest.approx(tokens * 0.625 / 1e6, abs=1e-4)
    loop.run_until_complete(client.close())


def test_a_question_typed_under_a_long_paste_stays_visible(qapp):
    """Issue 28: a question typed under pasted text disappeared into the "Pasted text" card."""
    from app.conversation.conversation import Conversation

    conv = Conversation(model=SONNET_46)
    pasted = "clause " * (CARD_CHARS // 3)
    conv.add_user_text(pasted + "\n\nWhich clause limits liability?")
    view = ConversationView()
    view.show_conversation(conv)
    (user,) = view.rows()
    assert "Pasted text" in user.body and "Which clause limits liability?" in user.body
    assert "clause clause clause" not in user.body


def test_token_figures_follow_the_conversations_tokenizer(qapp):
    """Issue 28: a paste was 26,964 tokens in one place and 35,052 in another (the 1.3
    tokenizer factor applied in some places only): the card now counts as the request does."""
    from app.conversation.conversation import Conversation
    from app.facts.catalogue import default_catalogue
    from app.facts.prefix import flatten_request

    model = default_catalogue(False).require("claude-opus-5")
    conv = Conversation(model=model.id)
    conv.add_user_text("clause " * 4000)
    view = ConversationView()
    view.maker.set_token_scale(model.token_scale)
    view.show_conversation(conv)
    (user,) = view.rows()
    shown = int(user.body.split("characters · ~")[1].split(" ")[0].replace(",", ""))
    sent = flatten_request({"messages": [m.api_fields() for m in conv.messages]}, model=model)
    assert 0 <= sent.total_tokens - shown <= 6  # the message role marker, 4 x 1.3, aside
