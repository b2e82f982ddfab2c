"""The model catalogue: ids, aliases, cache minimums and prices, read from a data file.

The data lives in ``resources/models.json`` so a user can update prices or minimums without a
code change; ``CACHESCOPE_MODELS_FILE`` points at another copy.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

MODELS_FILE_ENV = "CACHESCOPE_MODELS_FILE"


@dataclass(frozen=True)
class ModelInfo:
    id: str
    aliases: tuple[str, ...]
    display_name: str
    created_at: str
    min_cacheable_tokens: int
    input_usd_per_mtok: float
    output_usd_per_mtok: float
    max_output_tokens: int
    context_window: int
    uncertain: tuple[str, ...] = ()


@dataclass(frozen=True)
class Multipliers:
    """Multipliers on a model's base input price."""

    write_5m: float
    write_1h: float
    read: float


@dataclass(frozen=True)
class Catalogue:
    models: tuple[ModelInfo, ...]
    multipliers: Multipliers
    default_model: str

    def resolve(self, name: str) -> ModelInfo | None:
        """The model for an id or an alias, or None when unknown."""
        for model in self.models:
            if name == model.id or name in model.aliases:
                return model
        return None

    def require(self, name: str) -> ModelInfo:
        model = self.resolve(name)
        if model is None:
            raise KeyError(f"unknown model {name!r}")
        return model


def resources_dir() -> Path:
    """The folder holding Cachescope's data files: ``app/resources`` once installed, the
    top-level ``resources/`` in a source checkout."""
    here = Path(__file__).resolve()
    for candidate in (here.parents[1] / "resources", here.parents[2] / "resources"):
        if (candidate / "models.json").is_file():
            return candidate
    raise FileNotFoundError("Cachescope's data files (models.json) are missing from this install")


def parse_catalogue(data: dict) -> Catalogue:
    mult = data["multipliers"]
    models = tuple(
        ModelInfo(
            id=m["id"],
            aliases=tuple(m.get("aliases", ())),
            display_name=m["display_name"],
            created_at=m["created_at"],
            min_cacheable_tokens=int(m["min_cacheable_tokens"]),
            input_usd_per_mtok=float(m["input_usd_per_mtok"]),
            output_usd_per_mtok=float(m["output_usd_per_mtok"]),
            max_output_tokens=int(m["max_output_tokens"]),
            context_window=int(m["context_window"]),
            uncertain=tuple(m.get("uncertain", ())),
        )
        for m in data["models"]
    )
    return Catalogue(
        models=models,
        multipliers=Multipliers(
            write_5m=float(mult["cache_write_5m"]),
            write_1h=float(mult["cache_write_1h"]),
            read=float(mult["cache_read"]),
        ),
        default_model=data["default_model"],
    )


def load_catalogue(path: str | Path | None = None) -> Catalogue:
    """Read the catalogue from ``path``, ``$CACHESCOPE_MODELS_FILE`` or the shipped data file."""
    chosen = Path(path or os.environ.get(MODELS_FILE_ENV) or resources_dir() / "models.json")
    with open(chosen, encoding="utf-8") as fh:
        return parse_catalogue(json.load(fh))


@lru_cache(maxsize=1)
def default_catalogue() -> Catalogue:
    return load_catalogue()
