"""Cachescope's own policy in the replay: the app's engine driven through the controller the
window drives (``app.workspace.chat.Chat``), so what is replayed is what the window does: the
draft changes key by key (one warm-up decision per typing pause, at once on an attachment or an
edit begun), an edit warms the prefix it keeps, a send the API would refuse is refused, and
keep-alive pings follow each reply. Only the keys are simulated: a key every ``KEY_EVERY_S``
(the window's benchmark, ``tests/perf/app_sessions.py``, presses real ones as often)."""

from __future__ import annotations

import asyncio
import copy

from app.caching.costs import Kind
from app.caching.strategies import CacheSettings
from app.conversation.blocks import Message, TextBlock
from app.engine import events as ev
from app.engine.engine import Engine
from app.engine.session import Session
from app.engine.settings import from_preferences
from app.replay.actor import Actor, attachments_of
from app.replay.spending import Spending
from app.storage.preferences import Preferences
from app.workspace.chat import Chat, ChatRefusal

KEY_EVERY_S = 0.25  # simulated seconds between two keys while the user types


class Cachescope(Actor):
    """The engine as the window drives it. ``wait_usd_per_s`` overrides the shipped default
    (None keeps it); ``engine_settings`` an EngineSettings to copy (a window's) instead of a new
    install's; ``ttl`` a TTL to try instead of the settings' own; ``changes`` what the
    conversation itself is set to (a pattern, a TTL, warming, keep-alive pings: what "Use ..."
    would apply to it)."""

    wait_usd_per_s: float | None = None
    prefs: Preferences | None = None
    ttl: str | None = None
    engine_settings = None
    changes: dict = {}

    def __init__(self, *args):
        super().__init__(*args)
        if self.engine_settings is not None:
            settings = copy.deepcopy(self.engine_settings)
        else:
            settings = from_preferences(self.prefs or Preferences())
        if self.wait_usd_per_s is not None:
            settings.wait_usd_per_s = self.wait_usd_per_s
        if self.ttl is not None:
            settings.cache = CacheSettings(ttl=self.ttl)
        for key, value in self.changes.items():
            setattr(self.conv, key, value)
        self.engine = Engine(self.client, settings, clock=self.clock, sleep=asyncio.sleep)
        self.session = Session(self.conv)
        self.chat = Chat(self.engine, self.session)
        self.account = Spending(settings.wait_usd_per_s)
        self.firsts: list[float] = []
        self.typed = ""  # the draft's text so far
        self.engine.subscribe(self._event)

    def _event(self, event) -> None:
        self.account.hear(event)
        if isinstance(event, ev.RequestBuilt) and event.kind == Kind.TURN:
            self.last_body = event.built.body
        elif isinstance(event, ev.UsageReported) and event.kind == Kind.TURN:
            self.sent_usage.append(event.usage)
        elif isinstance(event, ev.FirstToken):
            self.firsts.append(self.loop.time())
        elif isinstance(event, ev.Failed):
            self.failures.append(f"{event.kind}: {event.failure.message}")

    # -- the draft ------------------------------------------------------------------------------
    async def attach(self, item) -> None:
        self.items.append(item)
        self.chat.set_draft(self.typed, tuple(self.items), now=True)
        await asyncio.sleep(0)

    async def typing(self, seconds: float, text: str = "") -> None:
        keys = max(1, round(seconds / KEY_EVERY_S))
        end = self.loop.time() + seconds
        for k in range(keys):
            self.typed = text[: max(1, len(text) * (k + 1) // keys)]
            self.chat.set_draft(self.typed, tuple(self.items))
            await asyncio.sleep(max(0.0, min(KEY_EVERY_S, end - self.loop.time())))

    def set_system(self, text: str) -> None:
        self.chat.apply(system=(TextBlock(text),) if text else ())

    async def prepare(self, base: tuple[Message, ...], keep_attachments: bool) -> None:
        """Go back to ``base`` as the window does: switch to the branch that holds it, then
        edit the message after it (the draft gets its text; its attachments stay when asked)."""
        conv = self.conv
        if list(base) == conv.messages:
            return
        self._show(base)
        if len(conv.messages) > len(base):
            draft = self.chat.edit(len(base))
            self.items = list(draft.attachments) if keep_attachments else []
            self.typed = ""
            await asyncio.sleep(0)

    def _show(self, path: tuple[Message, ...]) -> None:
        """Put on screen the branch that holds ``path`` (the window's branch links)."""
        conv = self.conv
        for j, message in enumerate(path):
            if j < len(conv.messages) and conv.messages[j] is message:
                continue
            for _ in conv.alternatives(j):
                if conv.messages[j] is message:
                    break
                self.chat.switch_branch(j, +1)
            if j >= len(conv.messages) or conv.messages[j] is not message:
                raise RuntimeError(f"the replay lost its branch at message {j + 1}")

    # -- sends ----------------------------------------------------------------------------------
    async def send(self, text: str) -> float | None:
        try:
            turn = self.chat.send(text, tuple(self.items))
        except ChatRefusal as exc:
            self.failures.append(f"refused: {exc}")
            return None
        self.items, self.typed = [], ""
        return await self._follow(turn)

    async def regenerate(self, asked: tuple[Message, ...]) -> float | None:
        """The window's Regenerate answers the last message on screen; an earlier one is
        answered again by editing it and sending it unchanged."""
        self._show(asked)
        conv = self.conv
        replies_after = [m for m in conv.messages[len(asked) :] if m.role == "user"]
        if replies_after:
            draft = self.chat.edit(len(asked) - 1)
            text, items = draft.text, attachments_of(asked[-1])
            try:
                turn = self.chat.send(text, tuple(items))
            except ChatRefusal as exc:
                self.failures.append(f"refused: {exc}")
                return None
        else:
            turn = self.chat.regenerate()
        return await self._follow(turn)

    async def _follow(self, turn) -> float | None:
        self.sent_at.append(self.loop.time())
        before = len(self.firsts)
        await turn
        return self.firsts[before] if len(self.firsts) > before else None

    async def close(self) -> None:
        self.chat.close()
        await self.engine.shutdown()

    def spending(self) -> Spending:
        return self.account


class Cachescope5m(Cachescope):
    ttl = "5m"


class Cachescope1h(Cachescope):
    ttl = "1h"


def ours_at(settings) -> dict[str, type[Cachescope]]:
    """Cachescope's rows at these ``EngineSettings`` (a window's, a conversation's): as they
    are ("your settings"), and with each TTL."""

    class Yours(Cachescope):
        engine_settings = settings

    class Yours5m(Yours):
        ttl = "5m"

    class Yours1h(Yours):
        ttl = "1h"

    return {"cachescope": Yours, "cachescope_5m": Yours5m, "cachescope_1h": Yours1h}


def settings_for(conversation, base):
    """``base`` (``EngineSettings``) with what ``conversation`` chose for itself folded in: its
    pattern, TTL, warming and keep-alive pings."""
    settings = copy.deepcopy(base)
    if conversation.pattern:
        settings.strategy = conversation.pattern
    if conversation.ttl:
        settings.cache = CacheSettings(ttl=conversation.ttl)
    if conversation.warming is not None:
        settings.warming = conversation.warming
    if conversation.keepalive_pings is not None:
        settings.keepalive_pings = conversation.keepalive_pings
    return settings


def in_force(settings) -> dict:
    """The four settings a policy is made of, as ``settings`` has them."""
    return {
        "pattern": settings.strategy,
        "ttl": settings.cache.ttl,
        "warming": settings.warming,
        "keepalive_pings": settings.keepalive_pings,
    }
