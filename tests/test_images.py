"""Image locking with real files made here: each awkward input gets the right outcome."""

import io
import struct
import zlib

import pytest
from PIL import Image

from app.conversation.images import ImageError, LockSettings, lock_image


def save(img, path, fmt, **kw):
    img.save(path, fmt, **kw)
    return path


def noisy(size, mode="RGB"):
    """A photo-like image (random pixels compress poorly, like photos)."""
    import random

    rng = random.Random(1)
    img = Image.new(mode, size)
    img.putdata([tuple(rng.randrange(256) for _ in mode) for _ in range(size[0] * size[1])])
    return img


def test_exif_rotated_jpeg_is_turned_upright_and_loses_its_metadata(tmp_path):
    img = Image.new("RGB", (400, 200), "white")
    img.paste((255, 0, 0), (0, 0, 40, 200))  # a red stripe on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to view
    exif[0x010F] = "CameraMaker"
    exif[0x8825] = {1: "N", 2: (52.0, 31.0, 12.0)}  # GPS
    path = save(img, tmp_path / "rotated.jpg", "JPEG", exif=exif.tobytes())
    locked = lock_image(path)
    assert (locked.width, locked.height) == (200, 400)
    with Image.open(io.BytesIO(locked.data)) as out:
        assert not out.getexif() and "exif" not in out.info and "icc_profile" not in out.info
        assert out.getpixel((100, 10))[0] > 200 and out.getpixel((100, 10))[1] < 60  # red on top
    assert b"CameraMaker" not in locked.data


def test_cmyk_jpeg_becomes_rgb(tmp_path):
    path = save(Image.new("CMYK", (100, 80), (0, 255, 255, 0)), tmp_path / "cmyk.jpg", "JPEG")
    locked = lock_image(path)
    with Image.open(io.BytesIO(locked.data)) as out:
        assert out.mode == "RGB" and locked.media_type == "image/jpeg"
    assert "CMYK converted to RGB" in locked.notes


def test_sixteen_bit_png_is_reduced_to_eight_bits(tmp_path):
    img = Image.new("I;16", (64, 64))
    img.putdata([i * 16 for i in range(64 * 64)])
    locked = lock_image(save(img, tmp_path / "deep.png", "PNG"))
    with Image.open(io.BytesIO(locked.data)) as out:
        assert out.mode == "L" and out.getextrema()[1] > 200
    assert locked.media_type == "image/png"


def test_paletted_png_with_transparency_keeps_its_alpha(tmp_path):
    img = Image.new("P", (50, 50), 0)
    img.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    img.paste(1, (0, 0, 25, 50))
    locked = lock_image(save(img, tmp_path / "pal.png", "PNG", transparency=0))
    with Image.open(io.BytesIO(locked.data)) as out:
        assert out.mode == "RGBA" and out.getpixel((40, 10))[3] == 0
        assert out.getpixel((10, 10))[:3] == (0, 0, 255)


def test_animated_gif_keeps_the_first_frame(tmp_path):
    frames = [Image.new("RGB", (40, 40), c) for c in ("red", "green", "blue")]
    path = tmp_path / "anim.gif"
    frames[0].save(path, "GIF", save_all=True, append_images=frames[1:], duration=100)
    locked = lock_image(path)
    with Image.open(io.BytesIO(locked.data)) as out:
        assert getattr(out, "n_frames", 1) == 1
        r, g, b = out.convert("RGB").getpixel((20, 20))
        assert r > 200 and g < 60
    assert "animation: first frame kept" in locked.notes


def test_twelve_megapixel_photo_is_downscaled_under_the_service_limits(tmp_path):
    big = noisy((400, 300)).resize((4000, 3000))
    locked = lock_image(save(big, tmp_path / "photo.jpg", "JPEG", quality=92))
    assert max(locked.width, locked.height) <= 1568
    assert locked.width * locked.height <= 1_150_000
    assert locked.media_type == "image/jpeg" and locked.size_bytes < 5 * 1024 * 1024
    assert locked.tokens <= 1600


def test_keep_original_size_only_shrinks_to_the_api_limits(tmp_path):
    path = save(noisy((300, 200)).resize((3000, 2000)), tmp_path / "photo.jpg", "JPEG")
    locked = lock_image(path, LockSettings(keep_original_size=True))
    assert (locked.width, locked.height) == (3000, 2000)


def test_truncated_file_is_refused_with_a_clear_message(tmp_path):
    path = save(noisy((300, 300)), tmp_path / "cut.jpg", "JPEG")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ImageError, match="cut.jpg could not be decoded.*complete"):
        lock_image(path)


def test_text_file_named_png_is_refused(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("this is not an image")
    with pytest.raises(ImageError, match="notes.png is not an image"):
        lock_image(path)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def test_decompression_bomb_is_refused_before_decoding(tmp_path):
    header = struct.pack(">IIBBBBB", 60000, 60000, 8, 0, 0, 0, 0)  # 3.6 gigapixels, grey
    bomb = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header)
    bomb += png_chunk(b"IDAT", zlib.compress(b"\0" * 60001 * 10)) + png_chunk(b"IEND", b"")
    path = tmp_path / "bomb.png"
    path.write_bytes(bomb)
    with pytest.raises(ImageError, match="too many pixels|decompression bomb"):
        lock_image(path)


def test_missing_file_and_empty_bytes_get_messages(tmp_path):
    with pytest.raises(ImageError, match="gone.png could not be read"):
        lock_image(tmp_path / "gone.png")
    with pytest.raises(ImageError, match="empty"):
        lock_image(b"")


def test_locking_is_deterministic_and_screenshots_stay_png(tmp_path):
    shot = Image.new("RGB", (800, 600), "white")
    shot.paste((30, 30, 30), (0, 0, 800, 40))
    path = save(shot, tmp_path / "shot.png", "PNG")
    first, second = lock_image(path), lock_image(path.read_bytes())
    assert first.data == second.data and first.sha256 == second.sha256
    assert first.media_type == "image/png" and first.tokens == 800 * 600 // 750


def test_image_from_a_local_url_is_read_into_bytes(tmp_path):
    import http.server
    import threading

    save(Image.new("RGB", (30, 20), "red"), tmp_path / "red.png", "PNG")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(tmp_path), **kw)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        locked = lock_image(f"http://127.0.0.1:{server.server_address[1]}/red.png")
    finally:
        server.shutdown()
    assert (locked.width, locked.height) == (30, 20)
