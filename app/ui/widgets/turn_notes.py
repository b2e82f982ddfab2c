"""What context management did to a turn, in words for the pane (Qt-free): a compaction's
summary and what the next turn starts from (build-with-claude/compaction.md), the tool results
or thinking a clearing removed and the rewrite it cost (build-with-claude/context-editing.md).
A compaction block itself is drawn as a card saying what it replaced."""

from __future__ import annotations

from app.caching.costs import RequestRecord
from app.conversation.blocks import RawBlock
from app.engine.context_management import cleared_words
from app.ui.widgets.untrusted import literal


def compaction_note(record: RequestRecord) -> str:
    """A compacting turn: what the compaction read and wrote, and what the next turn starts
    from ("" when the turn did not compact)."""
    done = record.compaction
    if done is None:
        return ""
    after = record.usage.input_total + record.usage.output
    before = done.input_total + record.usage.output
    return (
        f"Compacted {done.input_total:,} tokens ({done.read:,} read from cache) into a "
        f"{done.output:,}-token summary; the next turn starts from {after:,} tokens, not "
        f"{before:,}"
    )


def cleared_note(record: RequestRecord) -> str:
    """A turn whose request context editing changed: what was cleared, the rewrite it cost
    ("" when nothing was cleared)."""
    words = cleared_words(record.edits)
    if not words:
        return ""
    text = f"Context editing cleared {words}"
    if record.rewritten:
        return text + (
            f"; the prompt changed there, so {record.rewritten:,} cached tokens were written "
            f"again (${record.rewritten_usd:.4f} more than reading them)"
        )
    return text + "; nothing cached was written again (the same blocks as before)"


def turn_note(record: RequestRecord) -> str:
    """Everything context management did to the turn, one sentence after another."""
    return ". ".join(n for n in (compaction_note(record), cleared_note(record)) if n)


def compaction_card(block: RawBlock, expanded: bool, toggle: str) -> str:
    """A compaction block in the pane: what it stands for, and its summary folded."""
    summary = block.data.get("content")
    if summary is None:
        return "**Compaction failed** · no summary came back, so nothing was replaced"
    head = (
        f"**Compaction** · the API summarized the conversation above in "
        f"{len(summary):,} characters: requests send this summary and what follows; the "
        "messages above stay here but are not sent again"
    )
    if not expanded:
        return f"{head} · [▸ show the summary]({toggle})"
    quoted = "> " + literal(summary).replace("\n", "\n> ")
    return f"{head} · [▾ hide the summary]({toggle})\n\n{quoted}"
