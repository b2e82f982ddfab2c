"""What Cachescope's engine spent in a replay beyond its turns: its warm-ups (what they added over
sending cold, and how many of them the next send read), its keep-alive pings, what its one-hour
writes cost over five-minute ones, and, for each send, what the last warm-up decision before it
said. The dialog's sentences
on why Cachescope cost more or waited longer than another policy are drawn from it
(``app.replay.reasons``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.caching.costs import Kind
from app.engine import events as ev
from app.facts.catalogue import default_catalogue


@dataclass
class Spending:
    wait_usd_per_s: float  # what the engine took a second less waiting to be worth
    warmups: int = 0
    warmups_added_usd: float = 0.0  # what they added over sending cold (re-reads, the tails)
    warmups_read: int = 0  # warm-ups whose prefix the next send read in full
    pings: int = 0
    pings_usd: float = 0.0
    premium_1h_usd: float = 0.0  # what writing for an hour cost over writing for 5 minutes
    written_1h: int = 0  # tokens written for an hour
    before_sends: list[str] = field(default_factory=list)  # per send: the last decision's words
    _said: str = ""
    _warmed: list[int] = field(default_factory=list)  # prefix tokens of warm-ups not yet judged

    def hear(self, event) -> None:
        if isinstance(event, ev.WarmSkipped):
            self._said = event.reason
        elif isinstance(event, ev.RequestBuilt) and event.kind == Kind.WARM:
            self._said = f"warmed: {event.why}"
        elif isinstance(event, ev.RequestBuilt) and event.kind == Kind.TURN:
            self.before_sends.append(self._said)
            self._said = ""
        elif isinstance(event, ev.Finished):
            self._count(event.kind, event.record)

    def _count(self, kind: str, record) -> None:
        usage = record.usage
        model = default_catalogue().resolve(record.model)
        prices = model.prices if model is not None else None
        if kind == Kind.WARM:
            self.warmups += 1
            self._warmed.append(usage.read + usage.write)
            if prices is not None:  # as the engine weighs it (economics.warm_value)
                added = (usage.read + usage.write) * prices.read + usage.uncached * prices.input
                self.warmups_added_usd += added / 1e6
        elif kind == Kind.KEEPALIVE:
            self.pings += 1
            self.pings_usd += record.cost.paid_usd
        else:
            self.warmups_read += sum(1 for tokens in self._warmed if usage.read >= tokens)
            self._warmed = []
        if prices is not None and usage.write_1h:
            self.written_1h += usage.write_1h
            self.premium_1h_usd += usage.write_1h * (prices.write_1h - prices.write_5m) / 1e6

    @classmethod
    def pooled(cls, parts: list[Spending | None]) -> Spending | None:
        """Several replays' spending as one (None when any part kept none)."""
        if not parts or any(p is None for p in parts):
            return None
        out = cls(parts[0].wait_usd_per_s)
        for part in parts:
            for name in (
                "warmups",
                "warmups_added_usd",
                "warmups_read",
                "pings",
                "pings_usd",
                "premium_1h_usd",
                "written_1h",
            ):
                setattr(out, name, getattr(out, name) + getattr(part, name))
            out.before_sends += part.before_sends
        return out
