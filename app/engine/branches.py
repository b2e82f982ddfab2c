"""Where a conversation's paths part (edit and resend, regenerate keep what they replace), as
the cache sees them: what every path shares up to the fork, and what the next turn on another
path would read from cache and write, by the ledger, now."""

from __future__ import annotations

from dataclasses import dataclass, replace

from app.caching.costs import cost_of
from app.caching.ledger import Usage
from app.conversation.blocks import Message
from app.engine.engine import Engine
from app.engine.session import Session
from app.engine.warming import DRAFT_PLACEHOLDER


@dataclass(frozen=True)
class BranchView:
    """A path from a fork, as the cache sees it."""

    index: int  # the message position where the paths part
    position: int  # this path's number among them, from 1, oldest first
    count: int
    shared_tokens: int  # the prefix all the paths share: up to the fork
    read_tokens: int  # what the next turn on this path would read from cache now
    write_tokens: int  # and write
    extra_usd: float | None  # what writing costs more than reading would (None: prices unknown)

    def sentence(self) -> str:
        cost = f" (about ${self.extra_usd:.4f} more than reading it)" if self.extra_usd else ""
        return (
            f"Branch {self.position} of {self.count}: it shares {self.shared_tokens:,} tokens with"
            f" the others, up to the fork; its next turn would read {self.read_tokens:,} from"
            f" cache and write {self.write_tokens:,}{cost}."
        )


def _next_request_on(engine: Engine, session: Session, index: int, path: tuple[Message, ...]):
    """The request the next turn would send with ``path`` on screen from ``index`` on."""
    conv = session.conversation
    trial = replace(conv, messages=conv.messages[:index] + list(path), branches=[])
    return engine.drafts.send_request(session, DRAFT_PLACEHOLDER, conversation=trial)


def _up_to_the_fork(request, index: int, path: tuple[Message, ...]) -> list[str]:
    """The fingerprints of ``request``'s blocks up to the fork at ``index``: every block before
    it, and the message(s) of the user that begin ``path`` (an edited question keeps its
    document). A reply is the path's own (what the model wrote for it), never the shared prefix,
    and neither is anything after it or the draft the next turn would add."""
    own = next((n for n, m in enumerate(path) if m.role == "assistant"), len(path))
    limit = index + own
    return [
        b.fingerprint
        for b in request.flat.blocks
        if b.facts.message_index is None or b.facts.message_index < limit
    ]


def shared_tokens(requests, index: int, paths) -> int:
    """The tokens every one of ``requests`` (the next request on each of ``paths``) shares, byte
    for byte, from the start up to the fork at message ``index`` (prompt-caching.md: the cache
    is a prefix; "Branch N of M" speaks of what the paths have in common before they part). An
    edited question under an unchanged document shares the document (not only what precedes
    the fork's message); two answers to one question share the request that asked it, never
    the answer, even when the simulator wrote the same words twice."""
    sequences = [_up_to_the_fork(r, index, p) for r, p in zip(requests, paths, strict=True)]
    common = 0
    for column in zip(*sequences, strict=False):
        if len(set(column)) > 1:
            break
        common += 1
    return requests[0].flat.blocks[common - 1].cumulative if common else 0


def branch_view(
    engine: Engine, session: Session, index: int, path: tuple[Message, ...]
) -> BranchView:
    """What putting ``path`` (one of ``alternatives(index)``) on screen would mean for the
    cache."""
    conv = session.conversation
    paths = conv.alternatives(index)
    requests = {id(p[0]): _next_request_on(engine, session, index, p) for p in paths}
    built = requests[id(path[0])]
    shared = shared_tokens([requests[id(p[0])] for p in paths], index, paths)
    plan = engine.ledger.predict(built)
    extra = cost_of(
        Usage(write_5m=plan.write_5m_tokens, write_1h=plan.write_1h_tokens), built.model
    )
    saved = cost_of(Usage(read=plan.write_tokens), built.model)
    return BranchView(
        index,
        next(i for i, p in enumerate(paths) if p[0] is path[0]) + 1,
        len(paths),
        shared,
        plan.read_tokens,
        plan.write_tokens,
        extra.paid_usd - saved.paid_usd if extra.known and saved.known else None,
    )


def branches_here(engine: Engine, session: Session) -> dict[int, tuple[int, int, BranchView]]:
    """For each fork on screen: (this path's number, how many, what switching to the next one
    would mean). Only where a kept branch parts is there a choice to look at."""
    conv = session.conversation
    forks = {b.parent for b in conv.branches}
    out = {}
    for index in range(len(conv.messages)):
        if conv.parent_of(index) not in forks:
            continue
        paths = conv.alternatives(index)
        if len(paths) < 2:
            continue
        here = conv.shown_among(index, paths)
        nxt = paths[(here + 1) % len(paths)]
        out[index] = (here + 1, len(paths), branch_view(engine, session, index, nxt))
    return out
