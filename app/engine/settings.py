"""What the engine may do and spend: the pattern, warming, keep-alive, time limits and token
counting."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.caching.strategies import STRATEGIES, CacheSettings
from app.storage.preferences import WAIT_USD_PER_S

MAX_PINGS = 12  # keep-alive pings after a turn, whatever a preference file says: each is billed


@dataclass
class EngineSettings:
    strategy: str = "smart"
    cache: CacheSettings = field(default_factory=lambda: CacheSettings(ttl="adaptive"))
    warming: bool = True
    warm_margin_s: float = 30.0  # re-warm when the entry has less than this left
    warm_wait_s: float = 30.0  # the longest a send waits for a warm-up of its prefix
    # A send waits for a warm-up of its prefix only while it is on time: until this many times
    # its expected duration (app.facts.timing) plus the grace, then sends without it.
    warm_wait_factor: float = 1.5
    warm_grace_s: float = 2.0
    # Every request gives up once the API is silent this long: the floor plus this many times
    # its expected time to the first token (a stalled stream, warm-up or ping fails, visibly).
    timeout_floor_s: float = 30.0
    timeout_factor: float = 3.0
    warm_cap_usd_per_hour: float = 2.0
    # What a second less waiting for the first token is worth: a warm-up is sent only when the
    # seconds it saves at the send, at this rate, outweigh the dollars it adds (see
    # app.engine.economics.warm_value). $0.02/s is $72 an hour of the user's time; a preference.
    wait_usd_per_s: float = WAIT_USD_PER_S
    keepalive_pings: int = 0
    keepalive_margin_s: float = 20.0
    max_tool_rounds: int = 8
    # A turn stopped before its response began runs on until ``message_start`` says what its
    # prompt is billed, at most this long, then is abandoned (app/engine/turn_stream.py).
    stop_wait_s: float = 10.0
    count_tokens: bool = False  # ask the API's count_tokens (with a real key): see token_counts
    # Documents this big or bigger go through the Files API once and are sent by file_id (0: never);
    # a send waits this long for an upload still on its way, then sends the document inline.
    upload_min_bytes: int = 1_000_000
    upload_wait_s: float = 120.0
    # An upload gives up after the floor plus its size at the slowest rate still worth waiting
    # for (32 MB: 158 s), so a stalled Files API never holds a send for longer than that, and
    # the next send tries afresh.
    upload_floor_s: float = 30.0
    upload_min_bytes_per_s: float = 250_000.0
    # Compaction (compaction.md) is offered once the request Send would send holds this share of
    # the model's context window; its summary is priced before at this many output tokens (the
    # docs' own example: 3,500 for 180,000 read). Choices, in docs/choices.md.
    compaction_offer_share: float = 0.8
    compaction_summary_tokens: int = 3_500
    # Tool-result clearing, when a conversation asks for it, clears only this many tokens or
    # more at a time (its ``clear_at_least``: each clearing rewrites the cache after it).
    clear_at_least_tokens: int = 10_000

    def upload_limit(self, size_bytes: int) -> float:
        """How long one upload may take before it fails (the document then goes inline)."""
        return self.upload_floor_s + size_bytes / self.upload_min_bytes_per_s

    def time_limit(self, expected_s: float) -> float:
        """How long one read from the API may take before the request fails as a timeout."""
        return self.timeout_floor_s + self.timeout_factor * expected_s

    def warm_patience(self, expected_s: float) -> float:
        """How long after a warm-up starts a send still waits for it."""
        return self.warm_wait_factor * expected_s + self.warm_grace_s


def from_preferences(prefs) -> EngineSettings:
    """The engine's settings from the user's preferences (``app.storage.preferences``)."""
    return EngineSettings(
        strategy=prefs.strategy if prefs.strategy in STRATEGIES else "smart",
        cache=CacheSettings(ttl=prefs.ttl),
        warming=prefs.warming,
        keepalive_pings=prefs.keepalive_pings,
        wait_usd_per_s=prefs.wait_usd_per_s,
    )


def warming_of(settings: EngineSettings, conversation) -> bool:
    """Whether this conversation warms while the user types: its own choice, else the user's."""
    own = conversation.warming
    return settings.warming if own is None else own


def pings_of(settings: EngineSettings, conversation) -> int:
    """How many keep-alive pings may follow a reply in this conversation (its own, else the
    user's), within ``MAX_PINGS``."""
    own = conversation.keepalive_pings
    return max(0, min(settings.keepalive_pings if own is None else own, MAX_PINGS))


def max_tokens_0_refused(conversation) -> str | None:
    """Why the API refuses this conversation's requests with ``max_tokens: 0`` (a warm-up, a
    keep-alive ping), or None (prompt-caching.md, "Pre-warming the cache")."""
    if (conversation.thinking or {}).get("type") == "enabled":
        return "extended thinking cannot pre-warm (max_tokens 0 is refused with it)"
    if (conversation.tool_choice or {}).get("type") in ("any", "tool"):
        return "a forced tool choice cannot pre-warm (max_tokens 0 is refused with it)"
    return None


def warm_blocker(
    settings: EngineSettings, strategy: str, conversation, draft: tuple = ()
) -> str | None:
    """Why no warm-up may run for this conversation and draft now (None: it may, if it pays).
    ``draft`` is what the composer holds besides typed text (attachments, a long paste): the
    first message is worth warming once it holds one of them."""
    if not warming_of(settings, conversation):
        return "warming is off"
    if strategy == "none":
        return "the pattern caches nothing"
    conv = conversation
    refused = max_tokens_0_refused(conv)
    if refused is not None:
        return refused
    if not conv.messages and not conv.system and not conv.tools and not draft:
        return "nothing to warm yet"
    return None
