"""Thousands of damaged images: each is locked or refused with a message, never anything else."""

import io
import random

import pytest
from PIL import Image

from app.conversation.images import ImageError, lock_image

FORMATS = ("PNG", "JPEG", "GIF", "WEBP", "BMP", "TIFF")
PER_FORMAT = 500  # 3,000 in all


def original(fmt: str) -> bytes:
    img = Image.new("RGB", (64, 48))
    img.putdata(
        [((x * 4) % 256, (y * 5) % 256, (x * y) % 256) for y in range(48) for x in range(64)]
    )
    buf = io.BytesIO()
    img.save(buf, fmt)
    return buf.getvalue()


def mutate(data: bytes, rng: random.Random) -> bytes:
    kind = rng.randrange(4)
    if kind == 0:  # a partial download
        return data[: rng.randrange(1, len(data))]
    out = bytearray(data)
    if kind == 1:  # flipped bytes, often in the header
        for _ in range(rng.randrange(1, 8)):
            out[rng.randrange(min(len(out), 64 if rng.random() < 0.5 else len(out)))] ^= (
                1 << rng.randrange(8)
            )
    elif kind == 2:  # a run of garbage
        at = rng.randrange(len(out))
        out[at : at + rng.randrange(1, 32)] = bytes(
            rng.randrange(256) for _ in range(rng.randrange(1, 32))
        )
    else:  # a huge declared size in a header field
        at = rng.randrange(min(len(out), 40))
        out[at : at + 4] = b"\xff\xff\x7f\x7f"
    return bytes(out)


@pytest.mark.parametrize("fmt", FORMATS)
def test_damaged_images_are_locked_or_refused_with_a_message(fmt):
    rng = random.Random(fmt)
    data = original(fmt)
    refused = 0
    for _ in range(PER_FORMAT):
        try:
            locked = lock_image(mutate(data, rng))
        except ImageError as exc:
            refused += 1
            message = str(exc)
            assert any(w in message for w in ("image", "decod", "pixels", "empty")), message
            continue
        assert locked.width > 0 and locked.data  # what was locked is a real image
    assert refused > 0  # the mutations do damage
