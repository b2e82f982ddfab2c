"""The user's defaults, a small JSON file in the data folder. It never holds the API key: the
key lives in the OS keyring or the environment (``app.storage.keys``)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

import platformdirs

from app.facts.redact import has_login

FILE_NAME = "preferences.json"
APP_DIR_NAME = "cachescope"
MAX_PINGS = 12  # keep-alive pings after a turn (each one is billed)
TTLS = ("5m", "1h", "adaptive")
MAX_FILE_BYTES = 1_000_000  # a window's state and a few settings: a few kilobytes
# What a second less waiting for the first token is worth to the user: a warm-up is sent only
# when the seconds it saves at the send, at this rate, outweigh the dollars it adds
# (app.engine.economics). $0.02 a second is $72 an hour.
WAIT_USD_PER_S = 0.02
MAX_WAIT_USD_PER_S = 10.0


def data_dir(override: str | os.PathLike | None = None) -> Path:
    """--data-dir, else $CACHESCOPE_DATA_DIR, else the platform's user data folder."""
    chosen = override or os.environ.get("CACHESCOPE_DATA_DIR")
    return Path(chosen) if chosen else Path(platformdirs.user_data_dir(APP_DIR_NAME))


@dataclass
class Preferences:
    base_url: str = ""  # empty: the real API when a key is set, else the built-in simulator
    model: str = ""  # empty: the catalogue's default
    strategy: str = "smart"
    ttl: str = "adaptive"
    warming: bool = True
    keepalive_pings: int = MAX_PINGS  # at most this many after a turn, each only if it pays
    wait_usd_per_s: float = WAIT_USD_PER_S  # what a second less waiting is worth
    enter_sends: bool = True  # False: Ctrl+Enter sends and Enter adds a line
    appearance: str = "system"  # "light" or "dark" override the system's palette
    window_geometry: str = ""  # base64 of Qt's saveGeometry(), kept at close
    window_state: str = ""  # base64 of saveState(): the docks
    last_conversation: str = ""  # id of the conversation open at close
    last_folder: str = ""  # where the file dialogs open: the folder last attached from
    update_prices: bool = False  # fetch genai-prices' published data hourly (off: as installed)
    # MCP tools the user always allows, per server: {"server": ["tool", ...]}
    always_allow: dict = field(default_factory=dict)

    @classmethod
    def load(cls, folder: Path) -> Preferences:
        """``load_preferences`` without its notice."""
        return load_preferences(folder)[0]

    def save(self, folder: Path) -> None:
        """Written to a temporary file and renamed, so a full disk leaves the old file intact."""
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / FILE_NAME
        temp = path.with_suffix(".json.tmp")
        temp.write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")
        os.replace(temp, path)


def load_preferences(folder: Path, today: date | None = None) -> tuple[Preferences, str]:
    """(preferences, notice): defaults for a missing file. A file the app cannot use whole
    (unreadable, not JSON, over ``MAX_FILE_BYTES``, or holding a value of the wrong shape) is
    moved aside once, named with the day (``preferences.json.broken-2026-12-06``), the values
    it could use are kept and written back (the others start on their defaults), and the
    notice says so; the next start finds a clean file and says nothing."""
    path = folder / FILE_NAME
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ValueError(f"{size / 1e6:,.0f} MB, far more than preferences take")
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Preferences(), ""
    except (OSError, ValueError, RecursionError) as exc:
        why = _why(exc)
        return Preferences(), _set_aside(path, today, f"could not be read ({why})")
    prefs, refused = Preferences(), []
    for name, value in data.items() if isinstance(data, dict) else ():
        clean = _CLEAN.get(name)
        usable = clean(value) if clean is not None else None
        if usable is not None:
            setattr(prefs, name, usable)
        elif clean is not None:
            refused.append(name)
    if not isinstance(data, dict):
        return prefs, _set_aside(path, today, "is not a JSON object")
    if not refused:
        return prefs, ""
    named = ", ".join(f"{n}: {_WHY[n]}" if n in _WHY else n for n in refused)
    problem = f"held values Cachescope cannot use ({named})"
    notice = _set_aside(path, today, problem, "those are back to their defaults, the rest kept")
    try:
        prefs.save(folder)  # the values it could use, so the next start finds nothing wrong
    except OSError:
        pass
    return prefs, notice


def _why(exc: BaseException) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"not JSON: {exc.msg} at line {exc.lineno}"
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    return str(exc) or type(exc).__name__


def _set_aside(
    path: Path, today: date | None, problem: str, after: str = "Cachescope started on its defaults"
) -> str:
    """Move the file aside (once: it is gone from where the app reads it) under a name with
    the day; the sentence that says what happened."""
    day = (today or date.today()).isoformat()
    aside = path.with_name(f"{path.name}.broken-{day}")
    for n in range(2, 100):
        if not aside.exists():
            break
        aside = path.with_name(f"{path.name}.broken-{day}-{n}")
    start = f"Your preferences file {problem}"
    try:
        os.replace(path, aside)
    except OSError as exc:
        return f"{start} and could not be moved aside ({exc.strerror or exc}); {after}."
    return f"{start}: it was moved to {aside.name} in {path.parent}; {after}."


def _text(value) -> str | None:
    return value if isinstance(value, str) and len(value) <= 100_000 else None


def _base_url(value) -> str | None:
    """A URL with a login is refused: the login would replace the API key (app.engine.connect)."""
    text = _text(value)
    return None if text is None or has_login(text) else text


def _flag(value) -> bool | None:
    return value if isinstance(value, bool) else None


def _one_of(*choices: str):
    return lambda value: value if value in choices else None


def _pings(value) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return max(0, min(value, MAX_PINGS))
    return None


def _wait_value(value) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) if 0 <= value <= MAX_WAIT_USD_PER_S else None
    return None


def _always_allow(value) -> dict[str, list[str]] | None:
    """{"server": ["tool", ...]}: every server name and tool name a string, nothing else."""
    if not isinstance(value, dict):
        return None
    if not all(
        isinstance(server, str)
        and isinstance(tools, list)
        and all(isinstance(t, str) for t in tools)
        for server, tools in value.items()
    ):
        return None
    return {server: sorted(set(tools)) for server, tools in value.items()}


# Why a field's value is refused, where its shape alone does not say.
_WHY = {"base_url": "a URL with a login, which would be sent in place of the API key"}

# How each field is read from the file: the value the app can use, or None to keep the default.
_CLEAN = {
    "base_url": _base_url,
    "model": _text,
    "strategy": _text,  # the settings fall back to "smart" for a pattern they do not know
    "ttl": _one_of(*TTLS),
    "warming": _flag,
    "update_prices": _flag,
    "keepalive_pings": _pings,
    "wait_usd_per_s": _wait_value,
    "enter_sends": _flag,
    "appearance": _one_of("system", "light", "dark"),
    "window_geometry": _text,
    "window_state": _text,
    "last_conversation": _text,
    "last_folder": _text,
    "always_allow": _always_allow,
}
