"""What the warm indicator says, in one place: "warming" when a warm-up goes out, "not warmed"
with the reason when one is refused, "warm" with the tokens and time left while the last cached
prefix lives, "idle" otherwise. Fed by the engine's events and a look at the ledger once a second;
the widget that shows it only subscribes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.caching.costs import Kind
from app.caching.ledger import CacheLedger
from app.engine import events as ev
from app.engine.session import Session


@dataclass(frozen=True)
class WarmState:
    state: str  # "idle", "warming", "warm" or "not warmed"
    text: str


IDLE = WarmState("idle", "idle")


class WarmStatus:
    def __init__(self) -> None:
        self.current = IDLE
        self.note = ""  # why the last warm-up was sent or not, added to the "warm" text
        self._listeners: list[Callable[[WarmState], None]] = []

    def subscribe(self, listener: Callable[[WarmState], None]) -> None:
        self._listeners.append(listener)

    def _set(self, state: WarmState) -> None:
        if state != self.current:
            self.current = state
            for listener in list(self._listeners):
                listener(state)

    def reset(self) -> None:
        """Another conversation is on screen."""
        self.note = ""
        self._set(IDLE)

    def on_event(self, event: ev.Event) -> None:
        if isinstance(event, ev.RequestBuilt) and event.kind == Kind.WARM:
            self.note = f"warm-up: {event.why}" if event.why else ""
            self._set(WarmState("warming", f"warming… ({event.why})" if event.why else "warming…"))
        elif isinstance(event, ev.WarmSkipped) and not event.quiet:
            self.note = f"no warm-up: {event.reason}"
            self._set(WarmState("not warmed", f"not warmed ({event.reason})"))

    def tick(self, session: Session, ledger: CacheLedger, now: float) -> None:
        """Once a second: a warm-up in flight, or the countdown of what was cached last."""
        if session.warm_tasks:
            self._set(WarmState("warming", "warming…"))
            return
        # What Send would send now (built at the last decision or change; no build per tick),
        # else what was cached last.
        built = session.next_request or session.last_request
        best = ledger.longest_live(built) if built is not None else None
        if best is not None:
            left = int(best.expires_at - now)
            note = f"; {self.note}" if self.note else ""
            text = f"warm, {best.tokens:,} tokens, {left // 60}:{left % 60:02d} left{note}"
            self._set(WarmState("warm", text))
        elif self.current.state != "not warmed":
            self._set(IDLE)
