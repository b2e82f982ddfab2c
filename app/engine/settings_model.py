"""The one place the window's settings live: defaults (the preferences), the open
conversation's own pattern and TTL, and the engine's settings that follow both.

The toolbar and the preferences dialog read and write through ``SettingsModel``;
no widget keeps a copy. Listeners hear what changed ("pattern", "ttl", "warming", "pings",
"preferences", "conversation") and read the new values from the model.

- Pattern and TTL belong to a conversation (saved with it, used by its warm-ups and pings whether
  it is on screen or not); a new conversation starts from the preferences' defaults, and so does
  an old one that never chose.
- Warming and keep-alive are the user's, for every conversation: a toolbar change is saved in the
  preferences at once; a conversation that has its own (set by "Use ..." in What would it have
  cost) shows its own, and the toolbar changes its own.
- Saving the preferences untouched changes nothing and writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from app.caching.strategies import STRATEGIES, CacheSettings
from app.conversation.conversation import Conversation
from app.engine.settings import MAX_PINGS, EngineSettings
from app.storage.preferences import TTLS, Preferences


class SettingsModel:
    def __init__(
        self,
        engine: EngineSettings,
        prefs: Preferences,
        save: Callable[[Preferences], None] | None = None,
    ):
        self.engine = engine
        self.prefs = prefs
        self._save = save
        self._listeners: list[Callable[[str], None]] = []
        self.conversation: Conversation | None = None
        self.problem = ""  # why the preferences could not be saved, if they could not

    def subscribe(self, listener: Callable[[str], None]) -> None:
        self._listeners.append(listener)

    def _emit(self, what: str) -> None:
        for listener in list(self._listeners):
            listener(what)

    def _persist(self) -> None:
        if self._save is None:
            return
        try:
            self._save(self.prefs)
            self.problem = ""
        except OSError as exc:
            self.problem = f"Preferences not saved: {exc.strerror or exc}."

    # -- what is in force -----------------------------------------------------------------------
    @property
    def pattern(self) -> str:
        conv = self.conversation
        return conv.pattern if conv is not None and conv.pattern else self.engine.strategy

    @property
    def ttl(self) -> str:
        conv = self.conversation
        return conv.ttl if conv is not None and conv.ttl else self.engine.cache.ttl

    @property
    def warming(self) -> bool:
        conv = self.conversation
        own = conv.warming if conv is not None else None
        return self.engine.warming if own is None else own

    @property
    def pings(self) -> int:
        conv = self.conversation
        own = conv.keepalive_pings if conv is not None else None
        return self.engine.keepalive_pings if own is None else own

    # -- the open conversation ------------------------------------------------------------------
    def open(self, conversation: Conversation) -> None:
        """Show this conversation's own pattern and TTL. One that never chose takes the
        preferences' defaults now, for good: its requests (warm-ups and pings in the background
        included) never change pattern because the defaults did. The engine's own settings are
        not touched: they are the defaults (the preferences') a conversation starts from."""
        self.conversation = conversation
        if conversation.pattern not in STRATEGIES:
            conversation.pattern = self.engine.strategy
        if conversation.ttl not in TTLS:
            conversation.ttl = self.engine.cache.ttl
        self._emit("conversation")

    def set_pattern(self, name: str) -> None:
        if name not in STRATEGIES or self.conversation is None or name == self.pattern:
            return
        self.conversation.pattern = name
        self._emit("pattern")

    def set_ttl(self, ttl: str) -> None:
        if ttl not in TTLS or self.conversation is None or ttl == self.ttl:
            return
        self.conversation.ttl = ttl
        self._emit("ttl")

    # -- the user's, everywhere -----------------------------------------------------------------
    def set_warming(self, on: bool) -> None:
        conv = self.conversation
        if conv is not None and conv.warming is not None:  # the conversation's own
            if on != conv.warming:
                conv.warming = on
                self._emit("warming")
            return
        if on == self.engine.warming and on == self.prefs.warming:
            return
        self.engine.warming = on
        self.prefs = replace(self.prefs, warming=on)
        self._persist()
        self._emit("warming")

    def set_pings(self, count: int) -> None:
        count = max(0, min(count, MAX_PINGS))
        conv = self.conversation
        if conv is not None and conv.keepalive_pings is not None:  # the conversation's own
            if count != conv.keepalive_pings:
                conv.keepalive_pings = count
                self._emit("pings")
            return
        if count == self.engine.keepalive_pings and count == self.prefs.keepalive_pings:
            return
        self.engine.keepalive_pings = count
        self.prefs = replace(self.prefs, keepalive_pings=count)
        self._persist()
        self._emit("pings")

    def set_preferences(self, prefs: Preferences) -> bool:
        """The dialog's values: warming, keep-alive and the value of waiting apply at once;
        model, pattern and TTL to the next new conversation. False (and nothing written) when
        nothing changed."""
        if prefs == self.prefs:
            return False
        self.prefs = prefs
        self.engine.strategy = prefs.strategy if prefs.strategy in STRATEGIES else "smart"
        self.engine.cache = CacheSettings(prefs.ttl if prefs.ttl in TTLS else "adaptive")
        self.engine.warming = prefs.warming
        self.engine.keepalive_pings = max(0, min(prefs.keepalive_pings, MAX_PINGS))
        self.engine.wait_usd_per_s = prefs.wait_usd_per_s
        self._persist()
        self._emit("preferences")
        return True

    def new_conversation(self, catalogue) -> Conversation:
        """A conversation with the preferred model (the catalogue's default when none is set,
        or when the preferred one is unknown or retired); opened with the default pattern/TTL."""
        model = catalogue.resolve(self.prefs.model) if self.prefs.model else None
        if model is None or model.retired:
            model = catalogue.require(catalogue.default_model)
        conversation = Conversation(model=model.id)
        self.open(conversation)
        return conversation
