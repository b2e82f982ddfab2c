"""The same conversation gives byte-identical request JSON: every time, after save/load, and in a
new process."""

import hashlib
import io
import json
import subprocess
import sys

from PIL import Image

from app.caching.builder import RequestBuilder
from app.conversation.blocks import TextBlock, ToolResultBlock, ToolUseBlock
from app.conversation.conversation import Conversation
from app.conversation.images import lock_image
from tests.helpers import SONNET_46, text_of


def sample() -> Conversation:
    buf = io.BytesIO()
    Image.new("RGB", (320, 240), "teal").save(buf, "PNG")
    conv = Conversation(model=SONNET_46, title="sample")
    conv.set_system_text("Système: réponds brièvement. " + text_of(1500))
    conv.add_user_text("what is this? ünïcödé", lock_image(buf.getvalue()), created_at=1.5)
    conv.add(
        "assistant", TextBlock("a teal square"), ToolUseBlock.create("t1", "calc", {"b": 2, "a": 1})
    )
    conv.add("user", ToolResultBlock("t1", (TextBlock("3"),)))
    conv.add("assistant", TextBlock("done"))
    conv.add_user_text("thanks")
    conv.set_pinned(0, True)
    return conv


def digest(conv: Conversation, strategy="smart") -> bytes:
    return RequestBuilder().build(conv, strategy).json_bytes


def test_two_builds_are_byte_identical_and_match_the_body():
    conv = sample()
    builder = RequestBuilder()
    first, second = builder.build(conv, "smart"), builder.build(conv, "smart")
    assert first.json_bytes == second.json_bytes == digest(conv)
    assert json.loads(first.json_bytes) == json.loads(json.dumps(first.body))


def test_save_and_load_round_trip_gives_byte_identical_requests():
    conv = sample()
    saved = json.dumps(conv.to_dict())
    loaded = Conversation.from_dict(json.loads(saved))
    for strategy in ("smart", "last_2_user_messages", "automatic", "none"):
        assert digest(loaded, strategy) == digest(conv, strategy)
    assert loaded.messages[0].pinned and loaded.title == "sample"


def test_a_new_process_builds_the_same_bytes(tmp_path):
    conv = sample()
    path = tmp_path / "conv.json"
    path.write_text(json.dumps(conv.to_dict()))
    code = (
        "import hashlib, json, sys;"
        "from app.caching.builder import RequestBuilder;"
        "from app.conversation.conversation import Conversation;"
        f"c = Conversation.from_dict(json.load(open({str(path)!r})));"
        "print(hashlib.sha256(RequestBuilder().build(c, 'smart').json_bytes).hexdigest())"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONHASHSEED": "12345", "PATH": ""},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == hashlib.sha256(digest(conv)).hexdigest()


def test_damaged_image_in_a_saved_conversation_is_reported():
    data = sample().to_dict()
    sha = next(iter(data["images"]))
    data["images"][sha] = data["images"][sha][:-8] + "AAAAAAA="
    try:
        Conversation.from_dict(data)
    except ValueError as exc:
        assert "damaged" in str(exc) or "image" in str(exc)
    else:
        raise AssertionError("a damaged image was accepted")
