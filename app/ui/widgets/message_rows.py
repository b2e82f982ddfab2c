"""What the conversation pane shows, row by row, worked out without Qt.

A row is one message (or the system prompt, the reply streaming in, an error card): its safe
markdown body, the cache marks of its blocks in the last request (breakpoint flags, tokens read,
written and paid in full, their cost) and, for a reply, the turn that produced it (its usage and
the reason for a miss). Bodies are kept per message object (messages are immutable), so a new
reply, a pin or a pattern change recomputes marks, not markdown.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.caching.costs import RequestRecord, Stop
from app.conversation.blocks import (
    DocumentBlock,
    ImageBlock,
    Message,
    RawBlock,
    TextBlock,
    ThinkingBlock,
    ToolResultBlock,
    ToolUseBlock,
)
from app.conversation.conversation import Conversation
from app.facts.tokens import model_tokens, text_tokens
from app.ui.widgets.block_text import raw_block_text, sources
from app.ui.widgets.turn_marks import NO_MARKS, Marks, Turn, turn_of
from app.ui.widgets.turn_notes import compaction_card
from app.ui.widgets.untrusted import FENCE, literal, prose

SYSTEM_PREVIEW_CHARS = 400
SHOWN_CHARS = 100_000  # of one text block; the rest is kept, saved and sent, but not drawn
CARD_CHARS = 3_000  # a typed or pasted text in a user message longer than this shows as a card
OPENABLE = 8  # documents of one message offered in its context menu
FOLDER_RUN = 3  # consecutive documents from one folder shown as one card from this many
ACTION_SCHEME = "cachescope-action"
NOT_KNOWN_WORDS = "the API may have billed the prompt; not known"


@dataclass(frozen=True)
class Row:
    key: str  # stays the same while the row shows the same thing (a message's id, "reply", ...)
    kind: str  # "system", "message", "reply", "stopped", "error", "edit"
    title: str
    body: str  # safe markdown
    index: int | None = None  # the message's index
    role: str = ""
    images: tuple = ()  # LockedImage of each picture in the body
    marks: Marks = field(default_factory=Marks)
    turn: Turn | None = None
    pinned: bool = False
    interrupted: bool = False
    dimmed: bool = False  # a message an edit in progress will replace


class RowMaker:
    """Builds rows; remembers each message's body while the message object lives."""

    def __init__(self, token: str):
        self.token = token  # in every action link this app makes; text from a model lacks it
        self._bodies: dict[tuple[int, bool], tuple[Message, str]] = {}
        self._rows: dict[str, tuple[Message, Row]] = {}  # the last row made of each message
        self.expanded: set[str] = set()  # ids of messages with their thinking/long text shown
        self.token_scale = 1.0  # the model's tokenizer: every token figure drawn is in its tokens

    def set_token_scale(self, scale: float) -> bool:
        """Draw token figures in this tokenizer's tokens; True when the bodies must be redrawn."""
        if scale == self.token_scale:
            return False
        self.token_scale = scale
        self._bodies.clear()
        self._rows.clear()
        return True

    def _tokens(self, base: int) -> int:
        return model_tokens(base, self.token_scale)

    def action(self, verb: str, argument: str = "") -> str:
        return f"{ACTION_SCHEME}:{self.token}/{verb}/{argument}"

    def parse_action(self, url: str) -> tuple[str, str] | None:
        """(verb, argument) of a link this maker made, else None (a model's look-alike)."""
        prefix = f"{ACTION_SCHEME}:{self.token}/"
        if not url.startswith(prefix):
            return None
        verb, _, argument = url[len(prefix) :].partition("/")
        return verb, argument

    def rows(
        self,
        conversation: Conversation,
        marks: dict[int | str, Marks],
        turns: dict[int, Turn],
        editing: int | None = None,
        branches: dict[int, str] | None = None,
        stops: dict[int, list[RequestRecord]] | None = None,
        offer_retry: bool = True,
    ) -> list[Row]:
        """``branches``: for a message where paths part, the line that says which path this is
        and lets the user switch (``branch_line``). ``stops``: turn requests stopped before a
        reply began, each shown as a row under the message it was sent after (``stopped_turns``);
        the last message's, or its reply cut short, offer Retry when ``offer_retry``."""
        branches, stops = branches or {}, stops or {}
        last = len(conversation.messages) - 1
        out: list[Row] = []
        if conversation.system:
            out.append(
                Row(
                    "system",
                    "system",
                    "System prompt",
                    system_body(conversation.system_text),
                    marks=marks.get("system", NO_MARKS),
                )
            )
        live = set()
        rows = self._rows
        for index, message in enumerate(conversation.messages):
            expanded = message.id in self.expanded
            live.add((id(message), expanded))
            retry = offer_retry and index == last
            out.append(self._message_row(index, message, expanded, marks, turns, editing,
                                         branches, retry))  # fmt: skip
            stopped = stops.get(index, ())
            for n, record in enumerate(stopped):
                out.append(self.stopped_row(record, retry and n == len(stopped) - 1))
        if len(self._bodies) > 2 * len(live) + 64:  # messages no longer shown
            self._bodies = {k: v for k, v in self._bodies.items() if k in live}
            ids = {m.id for m in conversation.messages}
            self._rows = {k: v for k, v in rows.items() if k in ids}
        return out

    def _message_row(self, index, message, expanded, marks, turns, editing, branches, retry) -> Row:
        """A message's row, the one made before while nothing it shows changed; the last
        message, when it is a reply the user stopped, offers Regenerate (``retry``)."""
        mark, turn = marks.get(index, NO_MARKS), turns.get(index)
        dimmed = editing is not None and index >= editing
        retry = retry and turn is not None and bool(turn.stopped)
        found = None if index in branches else self._rows.get(message.id)
        if found is not None and found[0] is message and not retry:
            row = found[1]
            same = (row.index, row.marks, row.turn, row.dimmed) == (index, mark, turn, dimmed)
            if same and row.body is self._bodies.get((id(message), expanded), (0, ""))[1]:
                return row
        body = self.body(message, expanded)
        if retry:
            body += f"\n\n*Stopped: the reply so far is kept.* [Regenerate]({self.action('retry')})"
        row = Row(
            message.id,
            "message",
            _title(message),
            branches[index] + "\n\n" + body if index in branches else body,
            index,
            message.role,
            tuple(b.image for b in message.blocks if isinstance(b, ImageBlock)),
            mark,
            turn,
            message.pinned,
            message.interrupted,
            dimmed,
        )
        self._rows[message.id] = (message, row)
        return row

    def stopped_row(self, record: RequestRecord, retry: bool) -> Row:
        """A turn request stopped before any text of its reply arrived, under the message it was
        sent after: what it is billed in its header like any turn (not known: said so), and
        Retry when its question is the last message (``retry``)."""
        if record.stopped == Stop.UNKNOWN:
            body, turn = f"*Stopped before the reply began: {NOT_KNOWN_WORDS}.*", None
        elif record.stopped == Stop.BEFORE:
            body, turn = "*Stopped before the reply began:* the prompt was billed.", turn_of(record)
        else:  # only thinking or a tool call's input had streamed
            body, turn = "*Stopped before any text of the reply arrived.*", turn_of(record)
        if retry:
            body += f"\n\nNo reply was kept. [Retry]({self.action('retry')})"
        return Row(record.id, "stopped", "Claude", body, turn=turn, interrupted=True)

    def branch_line(self, index: int, position: int, count: int, note: str) -> str:
        """ "‹ 2 of 3 ›" with the links that switch, and what the cache says of the next path."""
        back = f"[‹ previous]({self.action('branch', f'{index}:-1')})"
        forward = f"[next ›]({self.action('branch', f'{index}:1')})"
        return f"{back} **Branch {position} of {count}** {forward} · *{literal(note, 300)}*"

    def body(self, message: Message, expanded: bool) -> str:
        found = self._bodies.get((id(message), expanded))
        if found is not None and found[0] is message:
            return found[1]
        text = self._markdown(message, expanded)
        self._bodies[(id(message), expanded)] = (message, text)
        return text

    def _markdown(self, message: Message, expanded: bool) -> str:
        lines = []
        blocks = message.blocks
        folders = _folder_runs(blocks)
        inside = {k for start, (end, _) in folders.items() for k in range(start + 1, end)}
        toggle = self.action("expand", message.id)
        for j, block in enumerate(blocks):
            if j in folders:  # a folder's files: one card for the run
                end, name = folders[j]
                run = [b.document for b in blocks[j:end]]
                tokens = sum(self._tokens(d.tokens) for d in run)  # block by block, as sent
                lines.append(f"**Folder** {literal(name)}/ · {len(run)} files · ~{tokens:,} tokens")
            elif j in inside:
                continue
            elif isinstance(block, DocumentBlock):
                doc = block.document
                tokens = self._tokens(doc.tokens)
                lines.append(
                    f"**Document** {literal(doc.name)} · {doc.size_label} · ~{tokens:,} tokens"
                )
            elif isinstance(block, TextBlock):
                long = message.role == "user" and len(block.text) > CARD_CHARS
                if long and not expanded:
                    pasted, question = split_question(block.text)
                    lines.append(
                        f"**Pasted text** · {len(pasted):,} characters ·"
                        f" ~{self._tokens(text_tokens(pasted)):,} tokens · [show it]({toggle})"
                    )
                    if question:  # what was typed under the paste stays in view
                        lines.append(shown(question))
                else:
                    lines.append(shown(block.text))
                    if block.citations_json:
                        lines.append(sources(block))
                    if long:
                        lines.append(f"[collapse]({toggle})")
            elif isinstance(block, ImageBlock):
                image = block.image
                lines.append(
                    f"![attachment]({image_url(image.sha256)})\n\n*{image.width} x "
                    f"{image.height} px, {image.size_bytes // 1024} KB, ~{image.tokens} tokens"
                    " (double-click to enlarge)*"
                )
            elif isinstance(block, ToolUseBlock):
                lines.append(f"*tool call:* {literal(f'{block.name}({block.input_json})', 120)}")
            elif isinstance(block, ToolResultBlock):
                flag = "error" if block.is_error else "result"
                lines.append(f"*tool {flag}:* {literal(block.text, limit=200)}")
            elif isinstance(block, RawBlock) and block.kind == "compaction":
                lines.append(compaction_card(block, expanded, toggle))
            elif isinstance(block, RawBlock):
                lines.append(raw_block_text(block))
            elif isinstance(block, ThinkingBlock):
                size = f"{len(block.thinking):,} characters"
                if expanded:
                    lines.append(f"[▾ Thinking]({toggle}) *({size})*")
                    lines.append("> " + literal(block.thinking).replace("\n", "\n> "))
                else:
                    lines.append(f"[▸ Thinking]({toggle}) *({size}; click to show)*")
        if message.effort is not None:
            lines.append(
                f"*Effort for this reply: {message.effort}* (sent as this message's output_config,"
                " so the cached prefix stays)"
            )
        return "\n\n".join(lines) or "*(empty)*"


IMAGE_SCHEME = "cachescope-image"


def image_url(sha256: str) -> str:
    # The key in the path: as a host (63 characters at most) Qt made every URL empty.
    return f"{IMAGE_SCHEME}:{sha256}"


def _title(message: Message) -> str:
    if message.is_tool_result:
        return "Tool results"
    if message.role == "system" and not message.blocks and message.effort is not None:
        return "Instruction (system, this reply only)"
    names = {"user": "You", "assistant": "Claude", "system": "Instruction (system, from here on)"}
    return names.get(message.role, message.role)


def system_body(text: str) -> str:
    if len(text) > SYSTEM_PREVIEW_CHARS:  # a long prompt would bury the conversation
        return (
            prose(text[:SYSTEM_PREVIEW_CHARS].rstrip())
            + f" … *({len(text):,} characters in all; see or edit it with"
            " Conversation → System prompt and tools, Ctrl+Shift+E)*"
        )
    return prose(text)


QUESTION_CHARS = 1_000  # a last paragraph this short, under a long text, is the question


def split_question(text: str) -> tuple[str, str]:
    """(the pasted part, the question typed under it): the last paragraph of a long text when it
    is short, else the whole text and no question."""
    head, sep, tail = text.rstrip().rpartition("\n\n")
    if not sep:
        head, sep, tail = text.rstrip().rpartition("\n")
    if sep and tail.strip() and len(tail) <= QUESTION_CHARS and len(head) > CARD_CHARS:
        return head, tail.strip()
    return text, ""


def shown(text: str) -> str:
    """A text block as drawn: safe markdown, cut at ``SHOWN_CHARS`` with a note saying so."""
    if len(text) <= SHOWN_CHARS:
        return prose(text)
    rest = len(text) - SHOWN_CHARS
    head = text[:SHOWN_CHARS]
    close = "\n```" if len(FENCE.findall(head)) % 2 else ""  # cut inside code: end the block
    return (
        prose(head)
        + close
        + f"\n\n*… {rest:,} more characters not shown here (a {len(text):,}-character text);"
        " they are kept, saved and sent in full.*"
    )


def _folder_runs(blocks) -> dict[int, tuple[int, str]]:
    """Runs of documents from one attached folder: start index -> (end index, folder name)."""
    runs: dict[int, tuple[int, str]] = {}
    j = 0
    while j < len(blocks):
        block = blocks[j]
        folder = block.document.name.split("/", 1)[0] if isinstance(block, DocumentBlock) else ""
        end = j
        while (
            folder
            and end < len(blocks)
            and isinstance(blocks[end], DocumentBlock)
            and blocks[end].document.name.startswith(folder + "/")
        ):
            end += 1
        if end - j >= FOLDER_RUN:
            runs[j] = (end, folder)
        j = max(end, j + 1)
    return runs
