"""A damaged, hostile or strange export file is imported whole or refused with a message."""

import base64
import copy
import hashlib
import io
import json
import random
import struct
import zlib

import pytest
from PIL import Image

from app.conversation.blocks import TextBlock, ToolResultBlock, ToolUseBlock
from app.conversation.conversation import Conversation
from app.conversation.images import lock_image
from app.storage.export import ExportFileError, export_json, import_json


@pytest.fixture
def export(tmp_path):
    buf = io.BytesIO()
    Image.new("RGB", (120, 80), "navy").save(buf, "PNG")
    conv = Conversation(model="claude-sonnet-4-6", title="Import me")
    conv.set_system_text("system")
    conv.add_user_text("look", lock_image(buf.getvalue()))
    conv.add("assistant", TextBlock("ok"), ToolUseBlock.create("t1", "clock", {}))
    conv.add("user", ToolResultBlock("t1", (TextBlock("12:00"),)))
    path = export_json(conv, tmp_path / "good.json", [{"id": "r1", "kind": "turn"}])
    return json.loads(path.read_text())


def write(tmp_path, payload) -> object:
    path = tmp_path / "case.json"
    path.write_text(payload if isinstance(payload, str) else json.dumps(payload))
    return path


def outcome(path):
    try:
        conv, _ = import_json(path)
    except ExportFileError as exc:
        assert "nothing was imported" in str(exc) or str(exc), exc
        return "refused"
    assert conv.messages is not None
    return "imported"


def giant_png() -> bytes:
    """A PNG whose header declares 100,000 x 100,000 pixels (a valid CRC)."""
    buf = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr) & 0xFFFFFFFF)
    return bytes(data)


def test_the_cases_the_hostile_pass_found_are_refused_with_a_message(tmp_path, export):
    bad_block = copy.deepcopy(export)
    bad_block["conversation"]["messages"][0]["blocks"][0]["type"] = "banana"
    assert outcome(write(tmp_path, bad_block)) == "refused"
    giant = copy.deepcopy(export)
    data = giant_png()
    sha = hashlib.sha256(data).hexdigest()  # a consistent file: only the pixels are absurd
    giant["conversation"]["images"] = {sha: base64.b64encode(data).decode()}
    giant["conversation"]["messages"][0]["blocks"][0]["sha256"] = sha
    with pytest.raises(ExportFileError, match="over what the API takes|cannot be read"):
        import_json(write(tmp_path, giant))
    with pytest.raises(ExportFileError, match="nested too deeply"):
        import_json(write(tmp_path, "[" * 100_000))


def test_a_thousand_mutated_exports_are_imported_or_refused(tmp_path, export):
    rng = random.Random(7)
    values = [None, 0, -1, 10**12, "", "x" * 5, [], {}, [[[]]], True, 1.5, {"type": "image"}]

    def paths(node, prefix=()):
        yield prefix
        if isinstance(node, dict):
            for k, v in node.items():
                yield from paths(v, (*prefix, k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                yield from paths(v, (*prefix, i))

    every = [p for p in paths(export) if p]
    outcomes = {"imported": 0, "refused": 0}
    for _ in range(1000):
        case = copy.deepcopy(export)
        for _ in range(rng.randrange(1, 4)):
            where = rng.choice(every)
            node = case
            try:
                for key in where[:-1]:
                    node = node[key]
                if rng.random() < 0.2 and isinstance(node, dict):
                    node.pop(where[-1], None)
                else:
                    node[where[-1]] = rng.choice(values)
            except (KeyError, IndexError, TypeError):
                continue
        outcomes[outcome(write(tmp_path, case))] += 1
    assert outcomes["refused"] > 0 and outcomes["imported"] > 0
