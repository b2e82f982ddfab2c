"""Where the app's log goes: warnings (or everything, with -v) to stderr and a rotating file in the
data folder, both through the redacting filter."""

from __future__ import annotations

import logging
from logging.handlers import RotatingFileHandler
from pathlib import Path

from app.facts.redact import RedactingFilter

LOG_NAME = "cachescope.log"


def configure_logging(folder: Path, verbose: bool) -> Path | None:
    """Warnings (or everything, with -v) to stderr; a rotating log file in the data folder.
    Nothing the app logs holds the API key: requests are logged by kind and size only."""
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    console = logging.StreamHandler()
    console.setLevel(logging.INFO if verbose else logging.WARNING)
    console.addFilter(RedactingFilter())
    root.addHandler(console)
    path = folder / LOG_NAME
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handler = RotatingFileHandler(path, maxBytes=1_000_000, backupCount=2, encoding="utf-8")
    except OSError:
        return None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root.addHandler(handler)
    for noisy in ("httpx", "httpx2", "httpcore", "anthropic", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return path
