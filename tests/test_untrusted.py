"""Hostile text in every field the conversation pane shows never loads a file or a URL.

Qt's markdown importer reads an image's file while it builds the fragment, before any view-level
guard; so the test looks at what the rendered document asks for: no image but the attachments
the app registered itself. Payloads point at a FIFO too: a read of it would block the GUI, and the
test's timeout would fail it."""

import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from app.conversation.blocks import (
    RawBlock,
    TextBlock,
    ThinkingBlock,
    ToolResultBlock,
    ToolUseBlock,
)
from app.conversation.conversation import Conversation
from app.ui.widgets.conversation_view import ConversationView
from app.ui.widgets.message_rows import IMAGE_SCHEME
from app.ui.widgets.untrusted import unbreak

FRAGMENTS = [
    "![x](",
    "![y][ref]\n\n[ref]: ",
    "/tmp/cachescope-secret.png",
    "/tmp/cachescope-fifo",
    "file:///etc/passwd",
    "http://198.51.100.7/pixel.png",
    ")",
    "`",
    "``",
    "\\",
    "\\\\",
    "<img src='/tmp/cachescope-secret.png'>",
    "[",
    "]",
    "\n",
    "```\n",
    "~~~",
    "&#33;",
    "!",
    " ",
    "text",
]
hostile = st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=14).map("".join)


@pytest.fixture(scope="module")
def traps():
    Image.new("RGB", (40, 30), "red").save("/tmp/cachescope-secret.png")
    if not os.path.exists("/tmp/cachescope-fifo"):
        os.mkfifo("/tmp/cachescope-fifo")
    yield
    os.unlink("/tmp/cachescope-fifo")


def images_asked_for(view: ConversationView) -> list[str]:
    """Every image any row's document refers to, but the attachments the app registered."""
    names = []
    for document in view.documents():
        block = document.begin()
        while block.isValid():
            it = block.begin()
            while not it.atEnd():
                fmt = it.fragment().charFormat()
                if fmt.isImageFormat():
                    names.append(fmt.toImageFormat().name())
                it += 1
            block = block.next()
        assert all(url.startswith(IMAGE_SCHEME + ":") for url in document.registered)
    return [n for n in names if not n.startswith(IMAGE_SCHEME + ":")]


@pytest.mark.timeout(60)
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=hostile, name=hostile, tool_input=hostile, result=hostile, thinking=hostile)
def test_no_field_can_load_a_file_or_url(qapp, traps, text, name, tool_input, result, thinking):
    conv = Conversation(model="claude-sonnet-4-6", title=name)
    conv.set_system_text(text)
    conv.add_user_text(text)
    conv.add(
        "assistant",
        ThinkingBlock(thinking, "sig"),
        TextBlock(text),
        ToolUseBlock.create("t1", "calc", {"expression": tool_input, name: result}),
    )
    conv.add("user", ToolResultBlock("t1", (TextBlock(result),), False))
    view = ConversationView()
    view.show_conversation(conv)
    assert images_asked_for(view) == []
    view.begin_reply()  # the streaming tail takes the same path
    view.append_delta(text + result)
    view.flush_tail()
    assert images_asked_for(view) == []


def test_a_backtick_in_a_tool_result_no_longer_breaks_out_of_its_span(qapp, traps):
    conv = Conversation(model="claude-sonnet-4-6")
    conv.add_user_text("hi")
    conv.add(
        "assistant",
        ToolUseBlock.create("t1", "calc", {"x": "a` ![x](/tmp/cachescope-secret.png) `b"}),
    )
    conv.add(
        "user", ToolResultBlock("t1", (TextBlock("ok` ![y](/tmp/cachescope-secret.png)"),), False)
    )
    view = ConversationView()
    view.show_conversation(conv)
    assert images_asked_for(view) == []
    assert "![y](/tmp/cachescope-secret.png)" in view.plain_text()  # shown, as text


def test_model_markdown_keeps_its_formatting_and_code(qapp):
    conv = Conversation(model="claude-sonnet-4-6")
    conv.add_user_text("hi")
    conv.add("assistant", TextBlock("**bold** and a list:\n\n- one\n\n```md\n![kept](/x)\n```\n"))
    view = ConversationView()
    view.show_conversation(conv)
    plain = view.plain_text()
    assert "bold" in plain and "**" not in plain and "![kept](/x)" in unbreak(plain)
    browser = view.select_text_of(1)  # a click on the reply's text opens it for selecting
    browser.selectAll()
    assert "![kept](/x)" in browser.createMimeDataFromSelection().text()  # copied as written


@pytest.mark.parametrize(
    "text",
    [
        # A backtick fence may not have a backtick in its info string: this opens no code block.
        "```![x](`\n![y](/tmp/cachescope-secret.png)",
        # A fence inside a list item closes there; the line after it is prose again.
        "1. ```\n   ```\n![y](/tmp/cachescope-secret.png)",
        # A closing fence is at least as long as the opening one: this one closes nothing.
        "~~~~\n~~~\n![y](/tmp/cachescope-secret.png)\n",
    ],
)
def test_fences_the_importer_reads_differently_are_no_way_around_the_guard(qapp, traps, text):
    conv = Conversation(model="claude-sonnet-4-6")
    conv.add_user_text("hi")
    conv.add("assistant", TextBlock(text))
    view = ConversationView()
    view.show_conversation(conv)
    assert images_asked_for(view) == []


def test_two_images_in_one_message_each_show_their_own_picture(qapp, tmp_path):
    """A photo and a screenshot in one message: each thumbnail is its own image (the 64-character
    hash once sat in the URL's host, which Qt rejects, so both showed the same picture)."""
    from PySide6.QtCore import QUrl
    from PySide6.QtGui import QTextDocument
    from PySide6.QtWidgets import QApplication

    from app.conversation.images import lock_image

    paths = []
    for name, colour, size in (("photo.png", "red", (40, 30)), ("shot.png", "blue", (60, 20))):
        Image.new("RGB", size, colour).save(tmp_path / name)
        paths.append(tmp_path / name)
    conv = Conversation(model="claude-sonnet-4-6")
    images = [lock_image(p) for p in paths]
    conv.add_user_text("compare these", *images)
    view = ConversationView()
    view.show_conversation(conv)
    view.documents()  # drawn first with placeholders; the thumbnails come from their process
    view.delegate.thumbnails.wait()
    QApplication.processEvents()
    QApplication.processEvents()
    shown = []
    for image in images:
        url = QUrl(f"{IMAGE_SCHEME}:{image.sha256}")
        assert url.isValid()
        picture = view.documents()[0].resource(QTextDocument.ResourceType.ImageResource, url)
        shown.append((picture.width(), picture.height(), picture.pixelColor(1, 1).name()))
    assert shown == [(40, 30, "#ff0000"), (60, 20, "#0000ff")]


def server_tool_blocks(url: str, title: str, text: str) -> list:
    """A web search and a fetch as the API returns them, with hostile addresses and titles."""
    search = {
        "type": "web_search_tool_result",
        "tool_use_id": "srv1",
        "content": [
            {"type": "web_search_result", "url": url, "title": title, "page_age": title},
            {"type": "web_search_result", "url": "https://example.com/" + url, "title": url},
        ],
    }
    fetch = {
        "type": "web_fetch_tool_result",
        "tool_use_id": "srv2",
        "content": {
            "type": "web_fetch_result",
            "url": url,
            "content": {"type": "document", "title": title, "source": {"data": text}},
        },
    }
    use = {"type": "server_tool_use", "id": "srv1", "name": title, "input": {"query": url}}
    return [RawBlock.create(use), RawBlock.create(search), RawBlock.create(fetch)]


@pytest.mark.timeout(60)
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(tail=hostile, title=hostile, text=hostile)
def test_server_tool_results_and_citations_cannot_load_a_file(qapp, traps, tail, title, text):
    """Issue 25, point 3: a newline inside a result's URL or a citation made a reference-style
    image that Qt loaded from disk. Every address and title goes through the same escaping."""
    url = "https://example.com/a" + tail
    conv = Conversation(model="claude-sonnet-4-6")
    conv.add_user_text("search")
    citation = {"type": "web_search_result_location", "url": url, "title": title}
    cited = TextBlock(text or "cited", json.dumps([citation, {"url": "http://x\n", "title": url}]))
    conv.add("assistant", *server_tool_blocks(url, title, text), cited)
    view = ConversationView()
    view.show_conversation(conv)
    assert images_asked_for(view) == []


def test_a_newline_in_a_result_url_stays_inside_its_link(qapp, traps):
    url = "https://example.com/x\n\n[ref]: /tmp/cachescope-secret.png\n![y][ref]"
    conv = Conversation(model="claude-sonnet-4-6")
    conv.add_user_text("search")
    conv.add("assistant", *server_tool_blocks(url, "a title", "page"), TextBlock("ok"))
    view = ConversationView()
    view.show_conversation(conv)
    assert images_asked_for(view) == []
