"""The model catalogue: ids, aliases, lifecycle, limits, cache minimums, tokenizers and prices,
read from a data file.

The data lives in ``resources/models.json`` so a user can update a price, a minimum or a
lifecycle without a code change; ``CACHESCOPE_MODELS_FILE`` points at another copy. Every model
carries its own five prices (the cache rates are not the same multiple of the input price for
every model); a model whose prices are unknown has ``prices = None`` and stays usable.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from app.facts.prices import as_datetime, library_prices, source

MODELS_FILE_ENV = "CACHESCOPE_MODELS_FILE"
LIFECYCLES = ("active", "deprecated", "retired")
ASSUMED_MINIMUM = 1024  # the cache minimum of a model the data file does not know


@dataclass(frozen=True)
class Prices:
    """Dollars per million tokens."""

    input: float
    write_5m: float
    write_1h: float
    read: float
    output: float


@dataclass(frozen=True)
class ThinkingSupport:
    accepts: tuple[str, ...]  # thinking types the model accepts ("disabled" included)
    default: str  # what omitting ``thinking`` means: "adaptive" or "disabled"


@dataclass(frozen=True)
class EffortSupport:
    levels: tuple[str, ...]
    default: str


@dataclass(frozen=True)
class ModelInfo:
    id: str
    aliases: tuple[str, ...]
    display_name: str
    created_at: str
    min_cacheable_tokens: int
    max_output_tokens: int
    context_window: int
    prices: Prices | None = None
    line: str | None = None
    lifecycle: str = "active"
    deprecated_at: str | None = None
    retires_at: str | None = None
    tokenizer: str = "claude-4"
    token_scale: float = 1.0  # this tokenizer's tokens per token of the base estimate
    thinking: ThinkingSupport | None = None
    effort: EffortSupport | None = None
    keeps_thinking: bool = True  # prior turns' thinking blocks stay in the prompt
    system_messages: bool = False  # accepts role "system" messages mid-conversation
    thinking_invalidates: tuple[str, ...] = ("messages",)  # levels a thinking/effort change hits
    uncertain: tuple[str, ...] = ()
    price_source: str = ""  # where ``prices`` come from (the library, or models.json's source)
    successor: str | None = None  # the replacement the deprecations page names
    thinking_binding: bool = False  # takes ``thinking.block_binding`` (a beta, SDK 2.16)
    refuses_sampling: bool = False  # temperature/top_p/top_k off their defaults: a 400
    inference_geo: bool = False  # takes ``inference_geo`` (Claude 4.6 and later)
    tier_start: int | None = None  # prompt tokens from which every token costs a tier's price
    tier_prices: Prices | None = None  # the file's fallback prices from ``tier_start`` on
    tool_prompt_tokens: tuple[int, int] = (346, 346)  # tool-use system prompt: (auto/none, forced)
    fast_mode: str | None = None  # speed "fast": "fast" runs fast, "standard" falls back, None 400
    refuses_forced_tool_choice: bool = False  # tool_choice any/tool: a 400
    thinking_prompt_tokens: int = 0  # what ``thinking: enabled`` adds to the prompt
    thinking_display: str = "summarized"  # what ``display`` defaults to (thinking.md)
    compaction: bool = False  # takes the compact_20260112 edit (compaction.md's list)

    @property
    def retired(self) -> bool:
        return self.lifecycle == "retired"

    @property
    def label(self) -> str:
        """The name to show, with what a user must know before choosing it."""
        label = self.display_name
        if self.lifecycle == "deprecated":
            label += f" (deprecated, retires {(self.retires_at or '?')[:10]})"
        if self.prices is None:
            label += " (prices unknown)"
        return label

    @property
    def usable(self) -> bool:
        return not self.retired

    def tool_prompt(self, tool_choice: dict | None) -> int:
        """The tool-use system prompt's tokens for a request with tools (pricing.md, "Tool use
        pricing": one count for auto and none, another for a forced any or tool)."""
        forced = (tool_choice or {}).get("type") in ("any", "tool")
        return self.tool_prompt_tokens[1 if forced else 0]


@dataclass(frozen=True)
class Catalogue:
    models: tuple[ModelInfo, ...]
    default_model: str

    def resolve(self, name: str) -> ModelInfo | None:
        """The model for an id or an alias (retired ones included), or None when unknown."""
        for model in self.models:
            if name == model.id or name in model.aliases:
                return model
        return None

    def require(self, name: str) -> ModelInfo:
        model = self.resolve(name)
        if model is None:
            raise KeyError(f"unknown model {name!r}")
        return model

    @property
    def usable(self) -> tuple[ModelInfo, ...]:
        """The models a request may name today (active and deprecated)."""
        return tuple(m for m in self.models if m.usable)

    def adopt(self, listed: list[dict]) -> Catalogue:
        """See ``_adopt``; then each listed model's thinking types and effort levels are taken
        from its ``capabilities`` (newer than the data file) where the listing has them."""
        adopted = self._adopt(listed)
        models = list(adopted.models)
        for raw in listed:
            known = adopted.resolve(raw["id"])
            caps = raw.get("capabilities")
            if known is None or not isinstance(caps, dict):
                continue
            models[models.index(known)] = replace(known, **_from_capabilities(caps, known))
        return Catalogue(tuple(models), self.default_model)

    def _adopt(self, listed: list[dict]) -> Catalogue:
        """This catalogue plus the models an API lists that it does not know (``/v1/models``
        entries as dicts). They stay usable with unknown prices; their cache minimum is
        assumed (``ASSUMED_MINIMUM``) until the data file says otherwise. Known models take
        the listing's lifecycle, which is newer than the file."""
        models = list(self.models)
        by_id = {m.id: i for i, m in enumerate(models)}
        for raw in listed:
            known = self.resolve(raw["id"])
            lifecycle = raw.get("lifecycle") or "active"
            if known is not None:
                if lifecycle in LIFECYCLES and lifecycle != known.lifecycle:
                    models[by_id[known.id]] = replace(
                        known,
                        lifecycle=lifecycle,
                        deprecated_at=raw.get("deprecated_at") or known.deprecated_at,
                        retires_at=raw.get("retires_at") or known.retires_at,
                    )
                continue
            models.append(
                ModelInfo(
                    id=raw["id"],
                    aliases=(),
                    display_name=raw.get("display_name") or raw["id"],
                    created_at=str(raw.get("created_at") or "1970-01-01T00:00:00Z"),
                    min_cacheable_tokens=ASSUMED_MINIMUM,
                    max_output_tokens=int(raw.get("max_tokens") or 32000),
                    context_window=int(raw.get("max_input_tokens") or 200000),
                    lifecycle=lifecycle if lifecycle in LIFECYCLES else "active",
                    deprecated_at=raw.get("deprecated_at"),
                    retires_at=raw.get("retires_at"),
                    uncertain=(
                        "listed by the API but not in models.json: prices unknown, "
                        f"minimum assumed {ASSUMED_MINIMUM}",
                    ),
                )
            )
        return Catalogue(tuple(models), self.default_model)


def _supported(caps: dict, *path: str) -> bool:
    for key in path:
        caps = caps.get(key) if isinstance(caps, dict) else None
    return isinstance(caps, dict) and bool(caps.get("supported"))


def _from_capabilities(caps: dict, known: ModelInfo) -> dict:
    """ThinkingSupport and EffortSupport from a ``/v1/models`` capabilities object."""
    out: dict = {}
    if isinstance(caps.get("thinking"), dict) and isinstance(caps["thinking"].get("types"), dict):
        types = ("adaptive", "between_tools", "enabled", "disabled")
        accepts = tuple(t for t in types if _supported(caps, "thinking", "types", t))
        default = known.thinking.default if known.thinking else None
        if default not in accepts:
            default = "disabled" if "disabled" in accepts else (accepts or ("disabled",))[0]
        out["thinking"] = ThinkingSupport(accepts, default) if accepts else None
    if isinstance(caps.get("effort"), dict):
        levels = tuple(
            level
            for level in ("low", "medium", "high", "xhigh", "max")
            if _supported(caps, "effort", level)
        )
        default = known.effort.default if known.effort else "high"
        if levels and _supported(caps, "effort"):
            out["effort"] = EffortSupport(levels, default if default in levels else levels[-1])
        else:
            out["effort"] = None
    return out


def resources_dir() -> Path:
    """The folder holding Cachescope's data files: ``app/resources`` once installed, the
    top-level ``resources/`` in a source checkout."""
    here = Path(__file__).resolve()
    for candidate in (here.parents[1] / "resources", here.parents[2] / "resources"):
        if (candidate / "models.json").is_file():
            return candidate
    raise FileNotFoundError("Cachescope's data files (models.json) are missing from this install")


def lifecycle_on(raw: dict, today: str) -> str:
    """A model's lifecycle on ``today`` (ISO date): retired from its ``retires_at`` on,
    deprecated from its ``deprecated_at`` on, else what the data file says."""
    lifecycle = raw.get("lifecycle", "active")
    if lifecycle not in LIFECYCLES:
        raise ValueError(f"{raw['id']}: lifecycle must be one of {', '.join(LIFECYCLES)}")
    if (raw.get("retires_at") or "9999")[:10] <= today:
        return "retired"
    if lifecycle == "active" and (raw.get("deprecated_at") or "9999")[:10] <= today:
        return "deprecated"
    return lifecycle


def _model(raw: dict, scales: dict[str, float], library: bool = True) -> ModelInfo:
    prices = raw.get("prices")
    price_source = raw.get("price_source") or raw.get("source", "models.json")
    tier = raw.get("tier") or {}
    tier_start = int(tier["start"]) if tier.get("start") else None
    tier_prices = Prices(**{k: float(v) for k, v in tier["prices"].items()}) if tier else None
    found = library_prices(raw["id"], as_datetime(None)) if library else None
    if found is not None:  # the maintained library's prices in force today win over the file's
        *rates, tier_start = found
        prices = dict(zip(("input", "write_5m", "write_1h", "read", "output"), rates, strict=True))
        price_source = f"{source()}, in force on {as_datetime(None).date().isoformat()}"
    thinking = raw.get("thinking")
    effort = raw.get("effort")
    lifecycle = lifecycle_on(raw, as_datetime(None).date().isoformat())
    tokenizer = raw.get("tokenizer", "claude-4")
    return ModelInfo(
        id=raw["id"],
        aliases=tuple(raw.get("aliases", ())),
        display_name=raw["display_name"],
        created_at=raw["created_at"],
        min_cacheable_tokens=int(raw["min_cacheable_tokens"]),
        max_output_tokens=int(raw["max_output_tokens"]),
        context_window=int(raw["context_window"]),
        prices=Prices(**{k: float(v) for k, v in prices.items()}) if prices else None,
        line=raw.get("line"),
        lifecycle=lifecycle,
        deprecated_at=raw.get("deprecated_at"),
        retires_at=raw.get("retires_at"),
        tokenizer=tokenizer,
        token_scale=float(scales.get(tokenizer, 1.0)),
        thinking=ThinkingSupport(tuple(thinking["accepts"]), thinking["default"])
        if thinking
        else None,
        effort=EffortSupport(tuple(effort["levels"]), effort["default"]) if effort else None,
        keeps_thinking=bool(raw.get("keeps_thinking", True)),
        system_messages=bool(raw.get("system_messages", False)),
        thinking_invalidates=tuple(raw.get("thinking_invalidates", ("messages",))),
        uncertain=tuple(raw.get("uncertain", ())),
        price_source=price_source if prices else "",
        successor=raw.get("successor"),
        thinking_binding=bool(raw.get("thinking_binding", False)),
        refuses_sampling=bool(raw.get("refuses_sampling", False)),
        inference_geo=bool(raw.get("inference_geo", False)),
        tier_start=tier_start,
        tier_prices=tier_prices,
        tool_prompt_tokens=tuple(raw.get("tool_prompt_tokens", (346, 346))),
        fast_mode=raw.get("fast_mode"),
        refuses_forced_tool_choice=bool(raw.get("refuses_forced_tool_choice", False)),
        thinking_prompt_tokens=int(raw.get("thinking_prompt_tokens", 0)),
        thinking_display=raw.get("thinking_display", "summarized"),
        compaction=bool(raw.get("compaction", False)),
    )


def parse_catalogue(data: dict, library: bool = True) -> Catalogue:
    """The catalogue of a models.json document; prices from ``app.facts.prices`` where the
    library knows the model (``library=False``: the document's own, for tests of the file)."""
    scales = {k: float(v) for k, v in (data.get("tokenizers") or {}).items()}
    shared = {"thinking_prompt_tokens": data.get("thinking_prompt_tokens", 0)}
    models = [_model({**shared, **m}, scales, library) for m in data["models"]]
    models.sort(key=lambda m: m.created_at, reverse=True)  # newest first, as /v1/models lists
    return Catalogue(models=tuple(models), default_model=data["default_model"])


def load_catalogue(path: str | Path | None = None, library: bool = True) -> Catalogue:
    """Read the catalogue from ``path``, ``$CACHESCOPE_MODELS_FILE`` or the shipped data file
    (``library=False``: the file's prices only, without importing the price library)."""
    chosen = Path(path or os.environ.get(MODELS_FILE_ENV) or resources_dir() / "models.json")
    with open(chosen, encoding="utf-8") as fh:
        return parse_catalogue(json.load(fh), library)


@lru_cache(maxsize=2)
def default_catalogue(library: bool = True) -> Catalogue:
    """The shipped catalogue, priced by the library (its import and data take ~0.25 s: the
    window starts on ``library=False`` and adopts the priced one off the GUI thread)."""
    return load_catalogue(library=library)
