"""The user's defaults, a small JSON file in the data folder. It never holds the API key: the
key lives in the OS keyring or the environment (``app.storage.keys``)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import platformdirs

FILE_NAME = "preferences.json"
APP_DIR_NAME = "cachescope"
MAX_PINGS = 12  # keep-alive pings after a turn (each one is billed)
TTLS = ("5m", "1h", "adaptive")


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
    enter_sends: bool = True  # False: Ctrl+Enter sends and Enter adds a line
    appearance: str = "system"  # "light" or "dark" override the system's palette
    window_geometry: str = ""  # base64 of Qt's saveGeometry(), kept at close
    window_state: str = ""  # base64 of saveState(): the docks
    last_conversation: str = ""  # id of the conversation open at close
    # MCP tools the user always allows, per server: {"server": ["tool", ...]}
    always_allow: dict = field(default_factory=dict)

    @classmethod
    def load(cls, folder: Path) -> Preferences:
        """Defaults for a missing or unreadable file (a broken file is kept aside, not lost)."""
        path = folder / FILE_NAME
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError, RecursionError):
            try:
                path.replace(path.with_suffix(".json.broken"))
            except OSError:
                pass
            return cls()
        known = {f.name for f in fields(cls)}
        prefs = cls()
        for name, value in data.items() if isinstance(data, dict) else ():
            if name in known and type(value) is type(getattr(prefs, name)):
                setattr(prefs, name, value)
        prefs.keepalive_pings = max(0, min(prefs.keepalive_pings, MAX_PINGS))
        if prefs.ttl not in TTLS:
            prefs.ttl = "adaptive"
        return prefs

    def save(self, folder: Path) -> None:
        """Written to a temporary file and renamed, so a full disk leaves the old file intact."""
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / FILE_NAME
        temp = path.with_suffix(".json.tmp")
        temp.write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")
        os.replace(temp, path)
