"""Benchmark: building and serialising a request for a 150,000-token conversation with ten
locked images, when only the last message is new.

    python tests/perf/build.py [--json]
"""

from __future__ import annotations

import argparse
import io
import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from PIL import Image  # noqa: E402

from app.caching.builder import RequestBuilder  # noqa: E402
from app.conversation.blocks import TextBlock  # noqa: E402
from app.conversation.conversation import Conversation  # noqa: E402
from app.conversation.images import lock_image  # noqa: E402

WORDS = "the quick brown fox jumps over the lazy dog and keeps on running".split()


def prose(tokens: int, rng: random.Random) -> str:
    out, size = [], 0
    while size < tokens * 4:
        word = rng.choice(WORDS)
        out.append(word)
        size += len(word) + 1
    return " ".join(out)[: tokens * 4]


def photo(seed: int):
    rng = random.Random(seed)
    small = Image.new("RGB", (64, 48))
    small.putdata([tuple(rng.randrange(256) for _ in range(3)) for _ in range(64 * 48)])
    buf = io.BytesIO()
    small.resize((1400, 1050)).save(buf, "JPEG", quality=90)
    return lock_image(buf.getvalue())


def conversation() -> Conversation:
    rng = random.Random(7)
    conv = Conversation(model="claude-sonnet-4-6")
    conv.set_system_text(prose(3000, rng))
    conv.add_user_text(prose(100_000, rng))
    conv.add("assistant", TextBlock(prose(300, rng)))
    images = [photo(i) for i in range(10)]
    for turn in range(20):
        attached = images[turn // 2 : turn // 2 + 1] if turn % 2 == 0 else []
        conv.add_user_text(prose(1500, rng), *attached)
        conv.add("assistant", TextBlock(prose(600, rng)))
    return conv


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    conv = conversation()
    builder = RequestBuilder()
    start = time.perf_counter()
    first = builder.build(conv, "smart")
    cold_ms = (time.perf_counter() - start) * 1000
    warm = []
    for i in range(args.runs):
        conv.add_user_text(f"question {i}: what happens next?")
        start = time.perf_counter()
        built = builder.build(conv, "smart")
        warm.append((time.perf_counter() - start) * 1000)
        conv.truncate(len(conv.messages) - 1)
    result = {
        "tokens": built.flat.total_tokens,
        "images": len(conv.images()),
        "json_mb": round(len(built.json_bytes) / 1e6, 2),
        "first_build_ms": round(cold_ms, 1),
        "last_message_new_ms_median": round(statistics.median(warm), 2),
        "last_message_new_ms_max": round(max(warm), 2),
        "cold_over_incremental": round(cold_ms / statistics.median(warm), 1),
    }
    del first
    print(
        json.dumps(result) if args.json else "\n".join(f"{k:>28}: {v}" for k, v in result.items())
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
