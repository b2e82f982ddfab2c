"""The prefix map of a built request: its blocks in caching order, with tokens and breakpoints."""

from __future__ import annotations

from dataclasses import dataclass

from app.caching.builder import BuiltRequest
from app.caching.ledger import Usage


@dataclass(frozen=True)
class PrefixRow:
    index: int
    path: str
    level: str
    kind: str
    role: str | None
    tokens: int
    cumulative: int
    breakpoint_ttl: str | None
    fingerprint: str

    @property
    def label(self) -> str:
        if self.level == "tools":
            return f"tool {int(self.path.split('.')[1]) + 1}"
        if self.level == "system":
            return "system prompt"
        parts = self.path.split(".")
        return f"message {int(parts[1]) + 1} ({self.role}) {self.kind}"


@dataclass(frozen=True)
class PrefixMap:
    rows: tuple[PrefixRow, ...]
    total_tokens: int

    @classmethod
    def of(cls, built: BuiltRequest) -> PrefixMap:
        return cls.of_flat(built.flat, built.breakpoints)

    @classmethod
    def of_flat(cls, flat, breakpoints) -> PrefixMap:
        """A request's blocks as flattened (``app.facts.prefix``), with its breakpoints."""
        ttl_at = {b.index: b.ttl for b in breakpoints}
        rows = tuple(
            PrefixRow(
                b.index,
                b.path,
                b.facts.level,
                b.facts.kind,
                b.facts.role,
                b.tokens,
                b.cumulative,
                ttl_at.get(b.index),
                b.fingerprint,
            )
            for b in flat.blocks
        )
        return cls(rows, flat.total_tokens)

    def to_dict(self, base: PrefixMap | None = None) -> dict:
        """A compact form; rows shared with ``base`` (same leading fingerprints) are counted, not
        repeated, so a long conversation's records do not grow with the square of its length."""
        shared = 0
        if base is not None:
            for mine, theirs in zip(self.rows, base.rows, strict=False):
                same = (mine.fingerprint, mine.path, mine.breakpoint_ttl) == (
                    theirs.fingerprint,
                    theirs.path,
                    theirs.breakpoint_ttl,
                )
                if not same:
                    break
                shared += 1
        rows = [
            [r.path, r.level, r.kind, r.role, r.tokens, r.breakpoint_ttl, r.fingerprint]
            for r in self.rows[shared:]
        ]
        return {"shared": shared, "rows": rows, "total": self.total_tokens}

    @classmethod
    def from_dict(cls, data: dict, base: PrefixMap | None = None) -> PrefixMap:
        shared = int(data.get("shared", 0))
        if shared and (base is None or len(base.rows) < shared):
            raise ValueError("this prefix map needs the previous one it was stored against")
        rows = list(base.rows[:shared]) if shared else []
        cumulative = rows[-1].cumulative if rows else 0
        for path, level, kind, role, tokens, ttl, fingerprint in data["rows"]:
            cumulative += tokens
            rows.append(
                PrefixRow(len(rows), path, level, kind, role, tokens, cumulative, ttl, fingerprint)
            )
        return cls(tuple(rows), int(data.get("total", cumulative)))

    def states(self, usage: Usage) -> list[str]:
        """What happened to each block: "read", "written" or "uncached" (by its larger part)."""
        out = []
        for row in self.rows:
            start = row.cumulative - row.tokens
            middle = start + row.tokens / 2
            if middle < usage.read:
                out.append("read")
            elif middle < usage.read + usage.write:
                out.append("written")
            else:
                out.append("uncached")
        return out
