"""Checks of content blocks as the API checks them: which types each role may send, their keys,
sources (base64, url, file) and the limits on images and PDFs."""

from __future__ import annotations

import base64
import binascii

from app.facts.documents import DocumentError, pdf_facts
from app.simulator.errors import invalid
from app.simulator.fields_common import check_cache_control, extra_keys
from app.simulator.image_checks import ImageCounter, check_file_source, check_image

RESULT_KEYS = {"type", "tool_use_id", "content", "cache_control", "caller"}
BLOCK_KEYS = {
    "text": {"type", "text", "cache_control", "citations"},
    "image": {"type", "source", "cache_control", "transformations"},
    "document": {"type", "source", "cache_control", "title", "context", "citations"},
    "search_result": {"type", "source", "title", "content", "cache_control", "citations"},
    "tool_use": {"type", "id", "name", "input", "cache_control", "caller"},
    "server_tool_use": {"type", "id", "name", "input", "cache_control", "caller"},
    "tool_result": {"type", "tool_use_id", "content", "is_error", "cache_control"},
    "thinking": {"type", "thinking", "signature"},
    "redacted_thinking": {"type", "data"},
    "web_search_tool_result": RESULT_KEYS,
    "web_fetch_tool_result": RESULT_KEYS,
    "code_execution_tool_result": RESULT_KEYS,
    "bash_code_execution_tool_result": RESULT_KEYS,
    "text_editor_code_execution_tool_result": RESULT_KEYS,
    "tool_search_tool_result": RESULT_KEYS,
    "container_upload": {"type", "file_id", "cache_control"},
    # the SDK's BetaCompactionBlockParam (2.17): what a response's block carries, sent back
    "compaction": {"type", "content", "cache_control", "encrypted_content", "signature"}
    | {"tool_changes"},
    "tool_addition": {"type", "tool"},
    "tool_removal": {"type", "tool"},
}
SERVER_RESULTS = tuple(k for k in BLOCK_KEYS if k.endswith("_tool_result") and k != "tool_result")
USER_BLOCKS = ("text", "image", "document", "search_result", "tool_result", "container_upload")
ASSISTANT_BLOCKS = (
    "text",
    "compaction",
    "tool_use",
    "server_tool_use",
    "thinking",
    "redacted_thinking",
    *SERVER_RESULTS,
)
SYSTEM_BLOCKS = ("text", "tool_addition", "tool_removal")
NESTED_BLOCKS = ("text", "image", "document", "search_result", "tool_reference")
DOCUMENT_SOURCES = ("base64", "text", "content", "url", "file")


def _allowed(role: str, nested: bool) -> tuple[str, ...]:
    if nested:
        return NESTED_BLOCKS
    return {"user": USER_BLOCKS, "assistant": ASSISTANT_BLOCKS, "system": SYSTEM_BLOCKS}[role]


def check_block(
    path: str, block: object, role: str, images: ImageCounter, nested: bool, files=None
) -> None:
    if not isinstance(block, dict):
        raise invalid(f"{path}: Input should be a valid dictionary")
    kind = block.get("type")
    allowed = _allowed(role, nested)
    if kind not in allowed:
        tags = ", ".join(f"'{t}'" for t in allowed)
        raise invalid(
            f"{path}.type: Input tag '{kind}' found using 'type' does not match any of the "
            f"expected tags: {tags}"
        )
    extra_keys(path, block, BLOCK_KEYS.get(kind, {"type", "tool_name", "cache_control"}))
    if "cache_control" in block:
        if nested:
            raise invalid(
                f"{path}.cache_control: cache_control is not allowed on blocks nested inside "
                "another block; set it on the enclosing block"
            )
        check_cache_control(f"{path}.cache_control", block["cache_control"])
    if kind == "text":
        if not isinstance(block.get("text"), str):
            raise invalid(f"{path}.text: Input should be a valid string")
        if not block["text"]:
            if "cache_control" in block:
                raise invalid(
                    f"{path}.cache_control: cache_control cannot be set for empty text blocks"
                )
            raise invalid(f"{path}.text: text content blocks must be non-empty")
    elif kind == "image":
        check_image(path, block, images, files)
    elif kind in ("tool_use", "server_tool_use"):
        for field in ("id", "name"):
            if not isinstance(block.get(field), str) or not block[field]:
                raise invalid(f"{path}.{field}: Field required")
        if not isinstance(block.get("input"), dict):
            raise invalid(f"{path}.input: Input should be a valid dictionary")
    elif kind == "tool_result":
        if not isinstance(block.get("tool_use_id"), str) or not block["tool_use_id"]:
            raise invalid(f"{path}.tool_use_id: Field required")
        content = block.get("content", "")
        if isinstance(content, list):
            for k, part in enumerate(content):
                check_block(f"{path}.content.{k}", part, role, images, True, files)
        elif not isinstance(content, str):
            raise invalid(f"{path}.content: Input should be a valid string or list")
        if "is_error" in block and not isinstance(block["is_error"], bool):
            raise invalid(f"{path}.is_error: Input should be a valid boolean")
    elif kind == "thinking":
        if not isinstance(block.get("thinking"), str) or not isinstance(
            block.get("signature"), str
        ):
            raise invalid(f"{path}: thinking blocks need `thinking` and `signature` strings")
    elif kind == "document":
        check_document(path, block, files)
    elif kind in ("tool_addition", "tool_removal"):
        tool = block.get("tool")
        if not isinstance(tool, dict) or tool.get("type") not in (
            "tool_reference",
            "mcp_tool_reference",
            "mcp_toolset_reference",
        ):
            raise invalid(f"{path}.tool.type: Input should be 'tool_reference'")


def check_document(path: str, block: dict, files) -> None:
    source = block.get("source")
    kinds = ", ".join(f"'{k}'" for k in DOCUMENT_SOURCES)
    if not isinstance(source, dict) or source.get("type") not in DOCUMENT_SOURCES:
        raise invalid(f"{path}.source.type: Input should be {kinds}")
    kind = source["type"]
    if kind == "base64":
        if source.get("media_type") != "application/pdf":
            raise invalid(f"{path}.source.media_type: Input should be 'application/pdf'")
        data = source.get("data")
        if not isinstance(data, str) or not data:
            raise invalid(f"{path}.source.data: Field required")
        try:
            raw = base64.b64decode(data, validate=True)
            pdf_facts(raw)
        except (binascii.Error, ValueError) as exc:
            reason = exc if isinstance(exc, DocumentError) else "Invalid base64 data"
            raise invalid(f"{path}.source.data: {reason}") from None
    elif kind == "text":
        if not isinstance(source.get("data"), str):
            raise invalid(f"{path}.source.data: Field required")
        if source.get("media_type", "text/plain") != "text/plain":
            raise invalid(f"{path}.source.media_type: Input should be 'text/plain'")
    elif kind == "url":
        if not str(source.get("url", "")).startswith(("http://", "https://")):
            raise invalid(f"{path}.source.url: Input should be a valid URL")
    elif kind == "file":
        check_file_source(path, source, files, "application/pdf", "text/plain")
    elif not isinstance(source.get("content"), str | list):
        raise invalid(f"{path}.source.content: Field required")
