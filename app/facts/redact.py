"""Secrets out of anything shown or logged: the password of a URL (``http://user:pw@host``) and
anything shaped like an Anthropic API key."""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s:]+(?::[^/@\s]*)?@")
API_KEY = re.compile(r"sk-ant-[A-Za-z0-9_-]{8,}")


def has_login(url: str) -> bool:
    """Whether a URL carries a login (``scheme://user:password@host``), as the HTTP library
    would read it; a text that is not a URL has none."""
    try:
        parts = urlsplit(url.strip())
        return parts.username is not None or parts.password is not None
    except ValueError:
        return bool(URL_CREDENTIALS.search(url))


def redact(text: str) -> str:
    text = URL_CREDENTIALS.sub(r"\1***@", text)
    return API_KEY.sub("sk-ant-***", text)


class RedactingFilter(logging.Filter):
    """On a handler: every record it writes goes through ``redact`` (arguments included)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True
