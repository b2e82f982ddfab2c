"""What "Use ..." in What would it have cost applies to the conversation for each policy: the whole
policy that was priced (its pattern, its TTL, whether it warms while the user types, how many
keep-alive pings may follow a reply), or why Cachescope cannot follow it.

A policy of another program is priced as that program sends: automatic caching and lm-deluge's
pattern at 5 minutes, with no warm-up and no ping; Cachescope's rows at the settings they were
replayed with. So following one sets all four on the conversation, and a replay of the
conversation with them set is the row that was priced (``tests/test_replay_follow.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.caching.strategies import STRATEGIES

CANNOT = {
    "claude_code": (
        "Claude Code's layout (a breakpoint on the system prompt and one that moves to the end"
        " of every request) is none of Cachescope's patterns"
    ),
    "cookbook": (
        "the cookbook warms the whole conversation each time you start typing, whatever it"
        " costs, with a one-token reply; Cachescope warms only when the seconds it saves are"
        " worth the re-reading at your value of waiting (Preferences), with no reply"
    ),
    "aider_keepalive": (
        "aider never caches the chat itself (only the system prompt and the files) and pings"
        " three times, 295 s apart, after every message; Cachescope's patterns cache the chat,"
        " and its keep-alive pings only while a ping costs less than the rewrite it spares"
    ),
}
OTHER_PROGRAMS = ("none", "automatic", "last_user_message")  # each one of the app's patterns


@dataclass(frozen=True)
class Following:
    policy: str
    changes: dict = field(default_factory=dict)  # the conversation's fields to set
    cannot: str = ""  # why Cachescope cannot follow it ("" when it can)

    @property
    def followable(self) -> bool:
        return not self.cannot

    def words(self) -> str:
        """What following it applies, in the window's words."""
        c = self.changes
        if not c:
            return "nothing to change: these are the conversation's settings"
        parts = []
        if "pattern" in c:
            parts.append(f"pattern {STRATEGIES[c['pattern']].label}")
        if "ttl" in c and c.get("pattern") != "none":
            parts.append(f"TTL {c['ttl']}")
        if "warming" in c:
            parts.append("warm while typing" if c["warming"] else "no warm-ups")
        if "keepalive_pings" in c:
            pings = c["keepalive_pings"]
            parts.append(f"up to {pings} keep-alive pings" if pings else "no keep-alive pings")
        return ", ".join(parts)


def following(policy: str, yours: dict) -> Following:
    """What following ``policy`` sets on the conversation. ``yours`` is what Cachescope's rows
    were replayed with (``pattern``, ``ttl``, ``warming``, ``keepalive_pings``: the
    conversation's settings in force)."""
    if policy in CANNOT:
        return Following(policy, cannot=CANNOT[policy])
    if policy in OTHER_PROGRAMS:
        changes = {"pattern": policy, "ttl": "5m"}
        return Following(policy, {**changes, "warming": False, "keepalive_pings": 0})
    ttl = {"cachescope_5m": "5m", "cachescope_1h": "1h"}.get(policy)
    if ttl is None:
        return Following(policy)  # your settings: nothing to change
    return Following(policy, {**yours, "ttl": ttl})


def changes_needed(follow: Following, yours: dict) -> dict:
    """The part of what following sets that differs from what is in force."""
    return {k: v for k, v in follow.changes.items() if yours.get(k) != v}
