"""Token figures as the window shows them: in the conversation model's tokenizer, each block
counted as the request counts it (``facts.prefix.counted_tokens``): a text or a document scaled
by the tokenizer (``facts.tokens.model_tokens``, block by block), an image by its pixels and not
scaled. The chips, the paste question, the folder chooser, the cards in the pane and the draft
line all count through here, so one thing has one figure wherever it is shown."""

from __future__ import annotations

from app.conversation.attachments import AttachedFolder
from app.conversation.documents import LockedDocument
from app.conversation.images import LockedImage
from app.facts.tokens import model_tokens, text_tokens


def attachment_tokens(item, token_scale: float) -> int:
    """An image, a document or a folder (one document per file) in this tokenizer's tokens."""
    if isinstance(item, LockedImage):
        return item.tokens  # counted by pixels, whatever the tokenizer
    if isinstance(item, LockedDocument):
        return model_tokens(item.tokens, token_scale)
    if isinstance(item, AttachedFolder):
        return sum(model_tokens(d.tokens, token_scale) for d in item.documents)
    raise TypeError(f"not an attachment: {item!r}")


def text_figure(text: str, token_scale: float) -> int:
    """A text's tokens in this tokenizer."""
    return model_tokens(text_tokens(text), token_scale)
