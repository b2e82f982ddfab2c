"""Estimates that block a send (issue 40, point 4). Web search results carry ``encrypted_content``
the API decrypts into text billed as input (web-search-tool.md, "Search results" and "Usage and
pricing"); the client cannot read it, so its bytes are not counted as text: each encrypted
payload counts a fixed figure (``resources/server_tools.json``, docs/choices.md). Two results
with 20 MB of it each made the next send refused as "about 10,485,925 tokens ... Remove an
attachment" in a conversation with no attachment. A refusal names what is large."""

from __future__ import annotations

import base64
import os

from app.conversation.blocks import RawBlock, TextBlock
from app.conversation.documents import document_from_text
from app.engine.session import Session
from app.facts.large_parts import largest_part, what_is_large
from app.facts.prefix import content_tokens, image_size_from_base64
from app.facts.server_tools import encrypted_content_tokens
from app.facts.tokens import canonical_json, text_tokens
from app.workspace.refusals import refuse_a_prompt_too_long
from tests.helpers import text_of
from tests.test_engine import Harness, conversation, run

MB = 1024 * 1024


def search_result(encrypted_bytes: int) -> dict:
    """A ``web_search_tool_result`` as the API returns it, two results with this much
    ``encrypted_content`` each (base64, like the API's)."""
    blob = base64.b64encode(os.urandom(encrypted_bytes * 3 // 4)).decode()
    results = [
        {
            "type": "web_search_result",
            "url": f"https://example.org/page-{n}",
            "title": f"Page {n}",
            "encrypted_content": blob,
            "page_age": "November 1, 2026",
        }
        for n in (1, 2)
    ]
    return {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_01", "content": results}


def searched(model: str = "claude-sonnet-4-6", encrypted_bytes: int = 20 * MB):
    conv = conversation(model=model)
    conv.add_user_text("Search the web for the tenancy rules.")
    use = {
        "type": "server_tool_use",
        "id": "srvtoolu_01",
        "name": "web_search",
        "input": {"query": "tenancy rules"},
    }
    conv.add(
        "assistant",
        RawBlock.create(use),
        RawBlock.create(search_result(encrypted_bytes)),
        TextBlock("The rules say rent is due on the first."),
    )
    return conv


def test_encrypted_content_is_not_counted_as_text_tokens():
    """web-search-tool.md: results are counted as input tokens once the API decrypts them; the
    ciphertext's size is not their size."""
    block = search_result(20 * MB)
    tokens = content_tokens(block, image_size_from_base64)
    visible = {**block, "content": [{**r, "encrypted_content": ""} for r in block["content"]]}
    assert tokens <= text_tokens(canonical_json(visible)) + 2 * encrypted_content_tokens()
    assert tokens >= 2 * encrypted_content_tokens()  # each result still counts
    assert tokens < 5_000  # it was 10,485,925 with the 20 MB counted as text
    # A citation's encrypted_index is a reference: nothing is added for it.
    cited = {"type": "web_search_tool_result", "tool_use_id": "x", "content": [
        {"type": "web_search_result", "url": "u", "title": "t", "encrypted_index": "Eo8B" * 9}
    ]}  # fmt: skip
    assert content_tokens(cited, image_size_from_base64) < 50


def test_web_search_results_with_20_mb_of_encrypted_content_do_not_block_the_next_send(sim):
    async def scenario():
        h = Harness(sim.base_url)
        session = Session(searched())
        try:
            refuse_a_prompt_too_long(h.engine, session, "And for deposits?", (), None)
            return h.engine.build(session, session.conversation).flat.total_tokens
        finally:
            await h.client.close()

    assert run(scenario()) < 10_000


def test_what_is_large_names_the_message_and_block_kind_and_no_attachment_that_is_not_there(sim):
    """A conversation over the window because of what a search brought back: the sentence
    names the message and the block kind, and says nothing of an attachment."""

    async def scenario():
        h = Harness(sim.base_url)
        conv = searched(model="claude-haiku-4-5")  # a 200,000-token window
        conv.add_user_text(text_of(1_000, "question"))
        conv.add("assistant", RawBlock.create(search_result(16)), TextBlock(text_of(250_000, "x")))
        conv.add_user_text("And for deposits?")  # the message being sent, as the refusal adds it
        flat = h.engine.build(Session(conv), conv).flat
        await h.client.close()
        return flat

    flat = run(scenario())
    part = largest_part(flat)
    assert (part.message_index, part.role, part.kind) == (3, "assistant", "text")
    said = what_is_large(flat)
    assert said.startswith("The largest part is text in message 4 of 5 (Claude's reply), about ")
    assert "attachment" not in said


def test_an_attachment_that_is_large_is_named_as_one(sim):
    async def scenario():
        h = Harness(sim.base_url)
        conv = conversation(model="claude-haiku-4-5")
        book = document_from_text(text_of(210_000, "book"), "book.txt")
        conv.add_user_text("Summarise it.", book)
        flat = h.engine.build(Session(conv), conv).flat
        await h.client.close()
        return flat

    said = what_is_large(run(scenario()))
    assert said.startswith("The largest part is a document attached to your new message")
    assert "remove that attachment" in said


def test_a_prompt_over_the_context_window_names_what_is_large_not_an_absent_attachment(sim):
    """Issue 40.4: the refusal said "Remove an attachment" in a conversation with none."""
    import pytest

    from app.workspace.refusals import ChatRefusal
    from tests.helpers import HAIKU_45, conversation, text_of

    async def scenario():
        h = Harness(sim.base_url)
        conv = conversation(model=HAIKU_45, tokens=100)
        conv.add_user_text("Here is the log: " + text_of(230_000, "a long log"))
        conv.add("assistant", TextBlock("That is a long log."))
        try:
            with pytest.raises(ChatRefusal) as refused:
                refuse_a_prompt_too_long(h.engine, Session(conv), "What failed?", (), None)
            return str(refused.value)
        finally:
            await h.client.close()

    said = run(scenario())
    assert "context window" in said and "attachment" not in said
    assert "message 1" in said, said
