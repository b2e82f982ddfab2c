"""The simulator's checks of an image block: type, base64, bytes, decodable, matching type."""

from __future__ import annotations

import base64
import binascii
import io

from app.simulator.errors import ApiError, invalid

IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
PIL_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}
MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_IMAGES = 100
MAX_IMAGE_EDGE = 8000
MAX_IMAGE_EDGE_MANY = 2000


class ImageCounter:
    def __init__(self) -> None:
        self.blocks: list[tuple[str, tuple[int, int]]] = []


def check_file_source(path: str, source: dict, files, *media: str) -> None:
    """A ``file`` source names a file this workspace uploaded, of a type the block takes (a
    type, or a prefix ending in "/"; files.md: images for ``image``, PDF and plain text for
    ``document``)."""
    file_id = source.get("file_id")
    if not isinstance(file_id, str) or not file_id:
        raise invalid(f"{path}.source.file_id: Field required")
    found = files(file_id) if files is not None else None
    if found is None:
        raise ApiError(404, "not_found_error", f"File not found: {file_id}")
    mime = found.mime_type.split(";")[0].strip()
    if not any(mime == m or (m.endswith("/") and mime.startswith(m)) for m in media):
        raise invalid(
            f"{path}.source.file_id: the file's type ({found.mime_type}) does not match the "
            "content block type"
        )


def check_image(path: str, block: dict, images: ImageCounter, files=None) -> None:
    from PIL import Image, UnidentifiedImageError

    source = block.get("source")
    if not isinstance(source, dict):
        raise invalid(f"{path}.source: Field required")
    kind = source.get("type")
    if kind == "url":  # not fetched here: the estimator counts it at the most an image costs
        if not isinstance(source.get("url"), str) or not source["url"].startswith(
            ("http://", "https://")
        ):
            raise invalid(f"{path}.source.url: Input should be a valid URL")
        return
    if kind == "file":
        check_file_source(path, source, files, "image/")
        return
    if kind != "base64":
        raise invalid(f"{path}.source.type: Input should be 'base64', 'url' or 'file'")
    for key in source:
        if key not in ("type", "media_type", "data"):
            raise invalid(f"{path}.source.{key}: Extra inputs are not permitted")
    media_type = source.get("media_type")
    if media_type not in IMAGE_TYPES:
        raise invalid(
            f"{path}.source.media_type: Input should be 'image/jpeg', 'image/png', "
            "'image/gif' or 'image/webp'"
        )
    data = source.get("data")
    if not isinstance(data, str) or not data:
        raise invalid(f"{path}.source.data: Field required")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise invalid(f"{path}.source.data: Invalid base64 data") from None
    if len(raw) > MAX_IMAGE_BYTES:
        raise invalid(
            f"{path}.source.base64: image exceeds 5 MB maximum: {len(raw)} bytes > "
            f"{MAX_IMAGE_BYTES} bytes"
        )
    try:
        with Image.open(io.BytesIO(raw)) as img:
            size, fmt = img.size, img.format
    except (UnidentifiedImageError, OSError, ValueError):
        raise invalid(f"{path}.source.data: Could not process image") from None
    if PIL_FORMATS.get(fmt or "") != media_type:
        raise invalid(
            f"{path}.source.media_type: Image does not match the provided media type {media_type}"
        )
    images.blocks.append((path, size))
