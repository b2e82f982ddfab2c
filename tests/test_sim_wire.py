"""Today's wire: request fields and content types, models and their lifecycle, usage, cache
diagnostics, the Files API and PDF documents, through the official SDK."""

import base64
import datetime

import anthropic
import pytest
from fpdf import FPDF

from app.facts.catalogue import default_catalogue
from app.facts.documents import pdf_facts
from app.facts.tokens import text_tokens
from tests.helpers import SONNET_46, api_message, block, raw_post

HI = [{"role": "user", "content": "hi"}]


def make_pdf(pages: int, words_per_page: int = 300) -> bytes:
    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    for page in range(pages):
        pdf.add_page()
        pdf.multi_cell(0, 5, f"Page {page + 1}. " + "contract clause text " * (words_per_page // 3))
    return bytes(pdf.output())


def pdf_block(data: bytes, cache: bool = False) -> dict:
    out = {
        "type": "document",
        "source": {
            "type": "base64",
            "media_type": "application/pdf",
            "data": base64.b64encode(data).decode(),
        },
    }
    if cache:
        out["cache_control"] = {"type": "ephemeral"}
    return out


def test_fields_real_clients_send_are_accepted(client):
    msg = client.messages.create(
        model="claude-opus-4-8",
        max_tokens=50,
        messages=HI,
        output_config={"effort": "medium"},
        inference_geo="us",
        speed="standard",
        diagnostics={"previous_message_id": None},
        metadata={"user_id": "u1"},
        service_tier="auto",
        tools=[
            {
                "name": "lookup",
                "description": "Look up",
                "input_schema": {"type": "object"},
                "strict": True,
                "defer_loading": False,
                "input_examples": [{"word": "cache"}],
            }
        ],
        extra_headers={"anthropic-beta": "cache-diagnosis-2026-04-07,fast-mode-2026-02-01"},
    )
    assert msg.type == "message" and msg.diagnostics is None


def test_usage_carries_every_field_of_the_sdks_usage(client):
    usage = client.messages.create(model=SONNET_46, max_tokens=50, messages=HI).usage
    dumped = usage.model_dump()
    fields = set(type(usage).model_fields)
    assert fields <= set(dumped) and all(dumped[f] is not None for f in fields)
    assert usage.server_tool_use.web_search_requests == 0 and usage.inference_geo == "global"


@pytest.mark.parametrize(
    ("kw", "fragment"),
    [
        ({"model": "claude-3-haiku-20240307"}, "retired"),
        ({"model": "claude-opus-4-1"}, "retired"),
        (
            {"model": "claude-opus-4-8", "thinking": {"type": "enabled", "budget_tokens": 2000}},
            "enabled",
        ),
        ({"model": "claude-haiku-4-5", "thinking": {"type": "adaptive"}}, "adaptive thinking"),
        ({"model": "claude-fable-5", "thinking": {"type": "disabled"}}, "disabled"),
        (
            {
                "model": "claude-opus-5",
                "thinking": {"type": "disabled"},
                "output_config": {"effort": "max"},
            },
            "effort 'max'",
        ),
        ({"model": "claude-sonnet-4-6", "output_config": {"effort": "xhigh"}}, "xhigh"),
        (
            {"model": "claude-haiku-4-5", "output_config": {"effort": "low"}},
            "effort is not supported",
        ),
        ({"model": SONNET_46, "speed": "warp"}, "speed"),
        ({"model": SONNET_46, "diagnostics": {"previous_message_id": 7}}, "previous_message_id"),
        ({"model": SONNET_46, "max_tokens": -1}, "max_tokens"),
    ],
)
def test_what_the_api_refuses_gets_its_400_or_404(client, kw, fragment):
    body = {"max_tokens": 3000, "messages": HI, **kw}
    with pytest.raises((anthropic.BadRequestError, anthropic.NotFoundError)) as err:
        client.messages.create(**body)
    assert fragment in api_message(err)


def test_unknown_beta_is_refused_and_the_sdk_tool_runner_works(sim, client):
    status, _, payload = raw_post(
        sim.base_url,
        "/v1/messages",
        {"model": SONNET_46, "max_tokens": 5, "messages": HI},
        {"anthropic-beta": "made-up-beta-2099-01-01"},
    )
    assert status == 400 and "made-up-beta" in payload["error"]["message"]
    from anthropic import beta_tool

    @beta_tool
    def calculator(expression: str) -> str:
        """Evaluate an arithmetic expression.

        Args:
            expression: the expression
        """
        return "14"

    runner = client.beta.messages.tool_runner(
        model=SONNET_46,
        max_tokens=300,
        tools=[calculator],
        messages=[{"role": "user", "content": "use calculator: 2+3*4"}],
    )
    replies = list(runner)
    last = replies[-1] if replies else None
    assert len(replies) == 2 and last is not None and last.stop_reason == "end_turn"
    assert "14" in last.content[-1].text  # the simulator quotes the tool's result


def test_models_list_has_every_model_with_lifecycle_limits_and_capabilities(client):
    models = {m.id: m for m in client.models.list(limit=1000).data}
    catalogue = default_catalogue()
    assert set(models) == {m.id for m in catalogue.models}
    for name in (
        "claude-fable-5",
        "claude-opus-5",
        "claude-sonnet-5",
        "claude-opus-4-8",
        "claude-opus-4-7",
        "claude-opus-5-5",
    ):
        assert models[name].lifecycle == "active"
    # Lifecycles follow the clock (3 Dec 2026 and later): Sonnet 4.5 retired on 30 Nov 2026,
    # Opus 4.5 deprecated on 23 Nov 2026 until 22 Jan 2027.
    assert models["claude-sonnet-4-5-20250929"].lifecycle == "retired"
    assert models["claude-sonnet-4-5-20250929"].retires_at.isoformat().startswith("2026-11-30")
    opus45 = models["claude-opus-4-5-20251101"]
    assert opus45.retires_at.isoformat().startswith("2027-01-22")
    today = datetime.date.today().isoformat()
    assert opus45.lifecycle == ("deprecated" if today < "2027-01-22" else "retired")
    retired = {m for m, info in models.items() if info.lifecycle == "retired"}
    assert {
        "claude-opus-4-1-20250805",
        "claude-opus-4-20250514",
        "claude-sonnet-4-20250514",
        "claude-3-7-sonnet-20250219",
        "claude-3-5-haiku-20241022",
        "claude-3-haiku-20240307",
    } <= retired
    fable = models["claude-fable-5"]
    assert (fable.max_input_tokens, fable.max_tokens) == (1_000_000, 128_000)
    assert fable.capabilities.thinking.types.adaptive.supported
    assert not fable.capabilities.thinking.types.disabled.supported
    assert fable.capabilities.effort.xhigh.supported and fable.capabilities.pdf_input.supported
    assert not models["claude-haiku-4-5-20251001"].capabilities.effort.supported


def test_minimums_and_tokenizers_from_the_docs_are_data():
    """prompt-caching.md ("Cache limitations") and the models overview (the tokenizer)."""
    cat = default_catalogue()
    minimum = {m.id: m.min_cacheable_tokens for m in cat.models}
    assert (
        minimum["claude-opus-5"] == minimum["claude-fable-5"] == minimum["claude-mythos-5"] == 512
    )
    assert minimum["claude-opus-4-7"] == 2048
    assert minimum["claude-opus-4-6"] == minimum["claude-opus-4-5-20251101"] == 4096
    assert minimum["claude-haiku-4-5-20251001"] == 4096
    assert (
        minimum["claude-opus-4-8"]
        == minimum["claude-sonnet-5"]
        == minimum["claude-sonnet-4-6"]
        == 1024
    )
    assert cat.require("claude-opus-4-7").token_scale == pytest.approx(1.3)
    assert cat.require("claude-sonnet-4-6").token_scale == 1.0
    assert (
        not cat.require(cat.default_model).retired
        and cat.require(cat.default_model).lifecycle == "active"
    )


def test_opus_4_7_counts_about_30_percent_more_tokens_for_the_same_text(client):
    messages = [{"role": "user", "content": block(10_000)["text"]}]
    old = client.messages.count_tokens(model=SONNET_46, messages=messages).input_tokens
    new = client.messages.count_tokens(model="claude-opus-4-7", messages=messages).input_tokens
    assert new / old == pytest.approx(1.3, abs=0.01)


def test_cache_diagnostics_names_what_changed(client):
    """cache-diagnostics.md: null on the first turn, then the first divergence."""
    system = [block(2000, "stable system", cache=True)]
    first = client.messages.create(
        model=SONNET_46,
        max_tokens=20,
        system=system,
        messages=HI,
        diagnostics={"previous_message_id": None},
    )
    assert first.diagnostics is None

    def next_turn(previous, **kw):
        body = {"model": SONNET_46, "max_tokens": 20, "system": system, "messages": HI, **kw}
        return client.messages.create(**body, diagnostics={"previous_message_id": previous.id})

    same = next_turn(first)
    assert same.diagnostics is None
    edited = next_turn(first, system=[block(2000, "edited system", cache=True)])
    reason = edited.diagnostics.cache_miss_reason
    assert reason.type == "system_changed" and reason.cache_missed_input_tokens > 2000
    assert (
        next_turn(first, model="claude-opus-4-8").diagnostics.cache_miss_reason.type
        == "model_changed"
    )
    tooled = next_turn(first, tools=[{"name": "t", "input_schema": {"type": "object"}}])
    assert tooled.diagnostics.cache_miss_reason.type == "tools_changed"
    thought = next_turn(first, thinking={"type": "adaptive"})
    assert thought.diagnostics.cache_miss_reason.type == "unavailable"
    grown = next_turn(
        first,
        messages=[
            *HI,
            {"role": "assistant", "content": "hello"},
            {"role": "user", "content": "more"},
        ],
    )
    assert grown.diagnostics is None
    rewritten = next_turn(grown, messages=[{"role": "user", "content": "HI"}])
    assert rewritten.diagnostics.cache_miss_reason.type == "messages_changed"
    lost = client.messages.create(
        model=SONNET_46, max_tokens=20, messages=HI, diagnostics={"previous_message_id": "msg_nope"}
    )
    assert lost.diagnostics.cache_miss_reason.type == "previous_message_not_found"


def test_diagnostics_arrive_on_message_start_when_streaming(client):
    first = client.messages.create(
        model=SONNET_46, max_tokens=20, messages=HI, diagnostics={"previous_message_id": None}
    )
    with client.messages.stream(
        model=SONNET_46,
        max_tokens=20,
        system="changed",
        messages=HI,
        diagnostics={"previous_message_id": first.id},
    ) as stream:
        start = next(e for e in stream if e.type == "message_start")
        stream.get_final_message()
    assert start.message.diagnostics.cache_miss_reason.type == "system_changed"


def test_pdf_tokens_are_text_plus_an_image_per_page():
    """pdf-support.md, "Estimate your costs"; the docs' own figure is about 7,000 tokens for a
    3-page PDF with text and images."""
    facts = pdf_facts(make_pdf(3))
    assert facts.pages == 3
    assert 1400 * 3 <= facts.image_tokens <= 1700 * 3  # a page image, counted like any image
    assert facts.text_tokens > 3 * 300
    assert 5_000 <= facts.tokens <= 9_000


def test_a_pdf_document_is_cached_like_any_block(client):
    data = make_pdf(4)
    messages = [
        {
            "role": "user",
            "content": [pdf_block(data, cache=True), {"type": "text", "text": "Summarise"}],
        }
    ]
    counted = client.messages.count_tokens(model=SONNET_46, messages=messages).input_tokens
    assert counted >= pdf_facts(data).tokens
    first = client.messages.create(model=SONNET_46, max_tokens=20, messages=messages).usage
    second = client.messages.create(model=SONNET_46, max_tokens=20, messages=messages).usage
    assert (
        first.cache_creation_input_tokens
        == second.cache_read_input_tokens
        >= pdf_facts(data).tokens
    )


@pytest.mark.parametrize(
    ("data", "fragment"),
    [(b"%PDF-1.7 this is not really a pdf", "damaged"), (b"plain text", "not a PDF")],
)
def test_a_damaged_pdf_is_refused_with_the_path(client, data, fragment):
    messages = [{"role": "user", "content": [pdf_block(data), {"type": "text", "text": "?"}]}]
    with pytest.raises(anthropic.BadRequestError) as err:
        client.messages.create(model=SONNET_46, max_tokens=20, messages=messages)
    assert "messages.0.content.0.source.data" in api_message(err) and fragment in api_message(err)


def test_files_api_upload_reference_list_and_delete_per_workspace(sim, client):
    data = make_pdf(2)
    uploaded = client.files.upload(file=("contract.pdf", data, "application/pdf"))
    assert uploaded.mime_type == "application/pdf" and uploaded.size_bytes == len(data)
    assert uploaded.downloadable is False
    assert [f.id for f in client.files.list()] == [uploaded.id]
    doc = {
        "type": "document",
        "source": {"type": "file", "file_id": uploaded.id},
        "cache_control": {"type": "ephemeral"},
    }
    messages = [{"role": "user", "content": [doc, {"type": "text", "text": "Who signs?"}]}]
    first = client.messages.create(model=SONNET_46, max_tokens=20, messages=messages).usage
    assert first.cache_creation_input_tokens >= pdf_facts(data).tokens
    with anthropic.Anthropic(
        base_url=sim.base_url, api_key="other-workspace", max_retries=0
    ) as other:
        assert list(other.files.list()) == []
        with pytest.raises(anthropic.NotFoundError):
            other.messages.create(model=SONNET_46, max_tokens=20, messages=messages)
    assert client.files.retrieve_metadata(uploaded.id).filename == "contract.pdf"
    assert client.files.delete(uploaded.id).type == "file_deleted"
    with pytest.raises(anthropic.NotFoundError):
        client.files.retrieve_metadata(uploaded.id)


def test_files_of_each_type_go_in_the_block_the_files_page_names(client):
    """files.md: PDF and plain text in ``document``, images in ``image``; nothing else."""
    text = client.files.upload(file=("notes.txt", b"clause one. " * 400, "text/plain"))
    csv = client.files.upload(file=("table.csv", b"a,b\n1,2\n", "text/csv"))

    def send(kind, file_id):
        block = {"type": kind, "source": {"type": "file", "file_id": file_id}}
        content = [block, {"type": "text", "text": "?"}]
        return client.messages.create(
            model=SONNET_46, max_tokens=5, messages=[{"role": "user", "content": content}]
        )

    assert send("document", text.id).usage.input_tokens >= text_tokens("clause one. " * 400)
    for kind, file_id in (("image", text.id), ("document", csv.id)):
        with pytest.raises(anthropic.BadRequestError) as err:
            send(kind, file_id)
        assert "does not match the content block type" in api_message(err)


def test_document_sources_url_text_and_content_are_accepted(client):
    content = [
        {"type": "document", "source": {"type": "url", "url": "https://example.com/a.pdf"}},
        {
            "type": "document",
            "source": {"type": "text", "media_type": "text/plain", "data": "notes"},
            "title": "notes.txt",
        },
        {
            "type": "document",
            "source": {"type": "content", "content": [{"type": "text", "text": "chunk"}]},
        },
        {"type": "text", "text": "Compare them."},
    ]
    msg = client.messages.create(
        model=SONNET_46, max_tokens=20, messages=[{"role": "user", "content": content}]
    )
    assert msg.usage.input_tokens > 2000  # the URL PDF is not fetched: counted as one page


def test_the_sdk_tool_runner_reads_on_its_second_step_what_its_first_wrote(sim, client):
    """Issue 27: message threads keep the create request's system and tools; a continue step (the
    tool result alone) read 0 and lost its tools."""
    from anthropic import beta_tool

    from tests.helpers import text_of

    @beta_tool
    def calculator(expression: str) -> str:
        """Evaluate an arithmetic expression.

        Args:
            expression: the expression
        """
        return "14"

    system = [
        {
            "type": "text",
            "text": text_of(3000, "rules"),
            "cache_control": {"type": "ephemeral"},
        }
    ]
    runner = client.beta.messages.tool_runner(
        model=SONNET_46,
        max_tokens=300,
        system=system,
        tools=[calculator],
        messages=[{"role": "user", "content": "use calculator: 2+3*4"}],
    )
    first, second = list(runner)
    assert first.stop_reason == "tool_use" and second.stop_reason == "end_turn"
    assert first.usage.cache_creation_input_tokens >= 3000
    assert second.usage.cache_read_input_tokens >= first.usage.cache_creation_input_tokens
    assert "14" in second.content[-1].text  # the tool's result reached the model
