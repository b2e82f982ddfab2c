"""Syntax colours for finished code blocks in the conversation pane (Pygments, inline formats).

Markdown import marks each line of a fenced block with its language; the highlighter colours
those lines; the pane gives a reply a highlighter only once it is finished.
"""

from __future__ import annotations

import threading
from functools import lru_cache

from pygments.lexers import get_lexer_by_name
from pygments.styles import get_style_by_name
from pygments.util import ClassNotFound
from PySide6.QtGui import QColor, QFont, QSyntaxHighlighter, QTextCharFormat, QTextFormat

LIGHT_STYLE = "default"
DARK_STYLE = "monokai"


@lru_cache(maxsize=64)
def _lexer(language: str):
    try:
        return get_lexer_by_name(language, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return None


# Making a lexer compiles its rules (Python's: ~80 ms); these are made in the background at start.
COMMON = ("python", "javascript", "typescript", "bash", "json", "rust", "go", "java", "c", "cpp")
_warming: list[threading.Thread] = []


def warm_lexers() -> None:
    """Make the common lexers in a background thread, once per process, so the first code
    block of a conversation does not stall the window while its lexer is built."""
    if not _warming:
        thread = threading.Thread(
            target=lambda: [_lexer(name) for name in COMMON], name="lexers", daemon=True
        )
        _warming.append(thread)
        thread.start()


class CodeHighlighter(QSyntaxHighlighter):
    def __init__(self, document, dark: bool = False):
        super().__init__(document)
        self.style = get_style_by_name(DARK_STYLE if dark else LIGHT_STYLE)
        self.formats: dict = {}

    def _format(self, token_type) -> QTextCharFormat:
        fmt = self.formats.get(token_type)
        if fmt is None:
            spec = self.style.style_for_token(token_type)
            fmt = QTextCharFormat()
            if spec.get("color"):
                fmt.setForeground(QColor("#" + spec["color"]))
            if spec.get("bold"):
                fmt.setFontWeight(QFont.Weight.Bold)
            if spec.get("italic"):
                fmt.setFontItalic(True)
            self.formats[token_type] = fmt
        return fmt

    def highlightBlock(self, text: str) -> None:  # noqa: N802 (Qt's name)
        block = self.currentBlock()
        # stringProperty, never property(): PySide6 6.12 returns an unset QVariant as None
        # without a reference, and Python aborts once None's count drains (see test_soak).
        language = block.blockFormat().stringProperty(QTextFormat.Property.BlockCodeLanguage)
        if not language:
            return
        lexer = _lexer(language.lower())
        if lexer is None:
            return
        position = 0
        for token_type, value in lexer.get_tokens(text):
            if value and token_type is not None:
                self.setFormat(position, len(value), self._format(token_type))
            position += len(value)
