"""Image locking: normalise an image once when it is attached, then send the same bytes forever.

Locking verifies the file is an image by its content, refuses decompression bombs and oversized
files, applies the EXIF orientation, drops every piece of metadata (GPS, camera, ICC), converts
modes the API cannot take, keeps the first frame of an animation, downscales to the size the
service would otherwise shrink it to, and encodes deterministically under 5 MB: PNG for
screenshots and transparency, JPEG for photos.
"""

from __future__ import annotations

import base64
import hashlib
import io
import urllib.request
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from app.conversation.documents import TOO_BIG, Unreadable, read_file, shown_name
from app.facts.tokens import SERVICE_MAX_LONG_EDGE, image_tokens

MAX_INPUT_BYTES = 50 * 1024 * 1024
MAX_INPUT_PIXELS = 100_000_000  # past this, decoding risks exhausting memory: a bomb
API_MAX_BYTES = 5 * 1024 * 1024
API_MAX_EDGE = 8000
TARGET_MAX_PIXELS = 1_150_000  # about 1.15 megapixels: the service never downscales it
JPEG_QUALITIES = (90, 82, 74, 66)
URL_TIMEOUT_S = 20
PIL_TO_MEDIA = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}


class ImageError(ValueError):
    """An attachment that cannot be used, with a message fit to show the user."""


@dataclass(frozen=True)
class LockSettings:
    keep_original_size: bool = False  # only shrink to the API's own limits


@dataclass(frozen=True, eq=False)
class LockedImage:
    data: bytes
    media_type: str
    width: int
    height: int
    source_name: str = ""
    notes: tuple[str, ...] = field(default=())

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @cached_property
    def base64(self) -> str:
        return base64.b64encode(self.data).decode("ascii")

    @cached_property
    def api_block(self) -> dict:
        return {
            "type": "image",
            "source": {"type": "base64", "media_type": self.media_type, "data": self.base64},
        }

    @property
    def tokens(self) -> int:
        return image_tokens(self.width, self.height)

    @property
    def size_bytes(self) -> int:
        return len(self.data)

    @classmethod
    def from_bytes(cls, data: bytes, media_type: str, source_name: str = "") -> LockedImage:
        """Re-create a locked image from stored bytes (no re-encoding: the bytes must not move)."""
        from PIL import Image

        try:
            with Image.open(io.BytesIO(data)) as img:
                width, height, fmt = *img.size, img.format or ""
        except Exception as exc:  # damaged bytes: Pillow raises many kinds
            raise ImageError(f"the image cannot be read ({type(exc).__name__})") from None
        if PIL_TO_MEDIA.get(fmt) != media_type:
            raise ImageError(f"the image is {fmt or 'unknown'}, not {media_type}")
        if max(width, height) > API_MAX_EDGE or len(data) > API_MAX_BYTES:
            raise ImageError(
                f"the image ({width} x {height} px, {len(data):,} bytes) is over what the API "
                f"takes ({API_MAX_EDGE} px a side, {API_MAX_BYTES:,} bytes)"
            )
        return cls(data, media_type, width, height, source_name, len(data))


def _read_source(source: str | Path | bytes) -> tuple[bytes, str]:
    if isinstance(source, bytes):
        return source, "pasted image"
    text = str(source)
    if text.startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(text, timeout=URL_TIMEOUT_S) as resp:
                data = resp.read(MAX_INPUT_BYTES + 1)
        except (OSError, ValueError) as exc:
            raise ImageError(f"Could not download {text}: {exc}") from None
        return data, text.rsplit("/", 1)[-1] or text
    path = Path(text[7:] if text.startswith("file://") else text)
    name = shown_name(path.name)
    try:
        return read_file(path, MAX_INPUT_BYTES, name), name
    except Unreadable as exc:
        if exc.reason == TOO_BIG:
            raise ImageError(
                f"{name} is over {MAX_INPUT_BYTES // (1024 * 1024)} MB; such images are refused."
            ) from None
        raise ImageError(str(exc)) from None


def _to_api_mode(img, notes: list[str]):
    """Convert to a mode the encoders and the API take: RGB, RGBA or L."""

    mode = img.mode
    if mode in ("RGB", "RGBA", "L"):
        return img
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        notes.append("16-bit image reduced to 8 bits")
        peak = 65535 if mode.startswith("I;16") else max(1, img.getextrema()[1])
        return img.convert("I").point(lambda v: v * (255.0 / peak)).convert("L")
    if mode == "F":
        return img.convert("L")
    if mode == "P":
        has_alpha = "transparency" in img.info
        if has_alpha:
            notes.append("palette with transparency converted to RGBA")
        return img.convert("RGBA" if has_alpha else "RGB")
    if mode in ("LA", "PA", "RGBa", "La"):
        return img.convert("RGBA")
    if mode == "CMYK":
        notes.append("CMYK converted to RGB")
    if mode == "1":
        return img.convert("L")
    return img.convert("RGB")


def _target_size(width: int, height: int, settings: LockSettings) -> tuple[int, int]:
    if settings.keep_original_size:
        scale = min(1.0, API_MAX_EDGE / max(width, height))
    else:
        scale = min(
            1.0,
            SERVICE_MAX_LONG_EDGE / max(width, height),
            (TARGET_MAX_PIXELS / (width * height)) ** 0.5,
        )
    if scale >= 1.0:
        return width, height
    return max(1, int(width * scale)), max(1, int(height * scale))


def _encode(img, as_png: bool) -> tuple[bytes, str]:
    buf = io.BytesIO()
    if as_png:
        img.save(buf, "PNG", optimize=False, compress_level=6)
        return buf.getvalue(), "image/png"
    for quality in JPEG_QUALITIES:
        buf = io.BytesIO()
        img.convert("RGB").save(buf, "JPEG", quality=quality, optimize=True, subsampling=2)
        if buf.tell() <= API_MAX_BYTES:
            break
    return buf.getvalue(), "image/jpeg"


def lock_image(source: str | Path | bytes, settings: LockSettings | None = None) -> LockedImage:
    """Read and normalise an image once; raises ImageError with a message for the user."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    settings = settings or LockSettings()
    raw, name = _read_source(source)
    if len(raw) > MAX_INPUT_BYTES:
        raise ImageError(f"{name} is over {MAX_INPUT_BYTES // (1024 * 1024)} MB; it was refused.")
    if not raw:
        raise ImageError(f"{name} is empty.")
    notes: list[str] = []
    try:
        img = Image.open(io.BytesIO(raw))
    except UnidentifiedImageError:
        raise ImageError(f"{name} is not an image Cachescope can read.") from None
    except Image.DecompressionBombError:
        raise ImageError(f"{name} declares too many pixels to decode safely.") from None
    except Exception as exc:  # a damaged header: Pillow's decoders raise many kinds
        raise ImageError(f"{name} could not be read as an image ({type(exc).__name__}).") from None
    try:
        width, height = img.size
        if width * height > MAX_INPUT_PIXELS:
            raise ImageError(
                f"{name} declares {width} x {height} pixels, more than can be decoded safely "
                "(a decompression bomb?)."
            )
        source_format = img.format or ""
        if getattr(img, "n_frames", 1) > 1:
            notes.append("animation: first frame kept")
            img.seek(0)
        img.load()
        img = ImageOps.exif_transpose(img) or img
        img = _to_api_mode(img, notes)
        target = _target_size(*img.size, settings)
        if target != img.size:
            notes.append(f"resized from {img.size[0]} x {img.size[1]}")
            img = img.resize(target, Image.Resampling.LANCZOS)
        # A fresh image carries pixels only: no EXIF, GPS, ICC or text chunks survive.
        clean = Image.new(img.mode, img.size)
        clean.putdata(img.getdata()) if img.mode == "P" else clean.paste(img)
        has_alpha = clean.mode == "RGBA" and clean.getextrema()[3][0] < 255
        if clean.mode == "RGBA" and not has_alpha:
            clean = clean.convert("RGB")
        as_png = has_alpha or source_format in ("PNG", "GIF", "BMP", "WEBP", "TIFF")
        data, media_type = _encode(clean, as_png)
        while len(data) > API_MAX_BYTES:
            w, h = clean.size
            clean = clean.resize(
                (max(1, int(w * 0.85)), max(1, int(h * 0.85))), Image.Resampling.LANCZOS
            )
            notes.append("shrunk to stay under 5 MB")
            data, media_type = _encode(clean, as_png and has_alpha)
    except ImageError:
        raise
    except Image.DecompressionBombError:
        raise ImageError(f"{name} declares too many pixels to decode safely.") from None
    except Exception as exc:  # truncated or damaged data: OSError, IndexError, struct.error...
        raise ImageError(
            f"{name} could not be decoded ({type(exc).__name__}: {exc}); is the file complete?"
        ) from None
    finally:
        img.close()
    return LockedImage(data, media_type, clean.size[0], clean.size[1], name, tuple(notes))


def thumbnail_rgba(data: bytes, size: tuple[int, int]) -> bytes:
    """RGBA bytes of an encoded picture scaled to ``size`` (run apart from the window: Qt's
    decoder keeps the interpreter lock ~45 ms for a large PNG)."""
    import io

    from PIL import Image

    with Image.open(io.BytesIO(data)) as picture:
        picture.draft("RGB", (size[0] * 2, size[1] * 2))  # JPEG: decode at a smaller scale
        rgba = picture.convert("RGBA")
        if rgba.size != size:
            rgba = rgba.resize(size, Image.Resampling.LANCZOS)
        return rgba.tobytes()
