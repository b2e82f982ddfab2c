"""Anthropic's prices from a maintained library: ``genai-prices`` (pydantic's price database).

It keeps each model's prices with the dates they changed on and the prompt-length tiers some
models charge (Haiku 5.5: 5x on every token of a request over 100,000 prompt tokens; Sonnet 4.5
over 200,000), with 5m and 1h cache writes and reads. Cachescope asks it for:

- ``library_prices``: a model's five base rates in force on a date (the catalogue shows them,
  the economics reason with them);
- ``library_cost``: what one request cost, at its own date, tiers applied (every cost the app
  records and predicts), on its ``Terms``: fast mode (``speed: "fast"``, fast-mode.md) at the
  library's fast prices, US-only inference (``inference_geo: "us"``) at 1.1x every token
  category (pricing.md, "Data residency pricing": the library does not carry it).

A model the library does not know falls back to ``models.json``'s prices (with their source);
one known to neither has unknown prices. The library's bundled data is used as installed; its
update from the published data (``PriceUpdates``: the library's own background thread, fetching
hourly) runs only when the user turns it on in Preferences, and nothing waits for it. Web
searches are priced by ``app.facts.server_tools``, not passed to the library.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from importlib import metadata

PROVIDER = "anthropic"
# pricing.md, "Data residency pricing": "For Claude 4.6 and later models, specifying US-only
# inference through the `inference_geo` parameter incurs a 1.1x multiplier on all token pricing
# categories" (earlier models refuse the parameter).
US_ONLY_MULTIPLIER = 1.1


@dataclass(frozen=True)
class Terms:
    """What a request ran on that changes its price beside its tokens and its date."""

    speed: str = ""  # "fast": fast mode's prices (the response's ``usage.speed`` says which ran)
    geo: str = ""  # "us": US-only inference, 1.1x

    @classmethod
    def of(cls, found: object) -> Terms:
        """From a response's usage or a request's body (a dict; anything else: standard)."""
        if not isinstance(found, dict):
            return STANDARD
        speed, geo = found.get("speed"), found.get("inference_geo")
        return cls(
            speed if speed == "fast" else "",
            geo if geo == "us" else "",
        )

    @property
    def standard(self) -> bool:
        return not (self.speed or self.geo)

    @property
    def words(self) -> str:
        """How a line names them ("" when standard)."""
        said = [w for w, on in (("fast mode", self.speed), ("US-only inference", self.geo)) if on]
        return " and ".join(said)


STANDARD = Terms()


_FOUND: dict = {"snapshot": None, "models": {}}  # lookups in the snapshot last used


def _model(model_id: str):
    """The library's model, looked up in its current data (the bundled snapshot, or the last
    update's): lookups are kept until the data changes."""
    from genai_prices import data_snapshot

    snapshot = data_snapshot.get_snapshot()
    if _FOUND["snapshot"] is not snapshot:
        provider = next((p for p in snapshot.providers if p.id == PROVIDER), None)
        _FOUND.update(snapshot=snapshot, provider=provider, models={})
    models = _FOUND["models"]
    if model_id not in models:
        provider = _FOUND["provider"]
        models[model_id] = provider.find_model(model_id) if provider is not None else None
    return models[model_id]


class PriceUpdates:
    """The library's update of its prices from its published data, while the user wants it:
    ``follow(True)`` starts its background thread (it returns at once; the first fetch happens
    on that thread), ``follow(False)`` or ``stop()`` ends it. Costs computed after an update use
    the new data; nothing waits for it."""

    def __init__(self) -> None:
        self._updater = None

    @property
    def running(self) -> bool:
        return self._updater is not None

    def follow(self, wanted: bool) -> None:
        if wanted and self._updater is None:
            from genai_prices import UpdatePrices

            self._updater = UpdatePrices()
            self._updater.start()  # no wait: start-up never blocks on the network
        elif not wanted:
            self.stop()

    def stop(self) -> None:
        if self._updater is not None:
            self._updater.stop()
            self._updater = None


def source() -> str:
    """Where library prices come from, for tooltips and records."""
    try:
        version = metadata.version("genai-prices")
    except metadata.PackageNotFoundError:
        version = "?"
    return f"genai-prices {version} (pydantic's price database)"


def _base(value) -> float | None:
    if value is None:
        return None
    base = getattr(value, "base", value)  # a TieredPrices: its rate below the first tier
    return float(base) if isinstance(base, Decimal | int | float) else None


def _first_tier(value) -> int | None:
    tiers = getattr(value, "tiers", None)
    return int(tiers[0].start) if tiers else None


def library_prices(model_id: str, at: dt.datetime):
    """The model's (input, write_5m, write_1h, read, output, tier_start) in $ per million tokens
    in force at ``at``, below any tier; None when the library does not know the model."""
    found = _model(model_id)
    if found is None:
        return None
    prices = found.get_prices(at)
    rates = [
        _base(getattr(prices, name, None))
        for name in (
            "input_mtok",
            "cache_write_mtok",
            "cache_write_1h_mtok",
            "cache_read_mtok",
            "output_mtok",
        )
    ]
    if rates[0] is None or rates[4] is None:
        return None
    write_5m = rates[1] if rates[1] is not None else rates[0] * 1.25
    write_1h = rates[2] if rates[2] is not None else rates[0] * 2
    read = rates[3] if rates[3] is not None else rates[0] * 0.1
    tier = _first_tier(getattr(prices, "input_mtok", None))
    return rates[0], write_5m, write_1h, read, rates[4], tier


def library_cost(
    model_id: str,
    at: dt.datetime,
    uncached: int,
    read: int,
    write_5m: int,
    write_1h: int,
    output: int,
    terms: Terms = STANDARD,
) -> float | None:
    """What one request cost at ``at`` by the library (tiers applied to the whole prompt) on
    ``terms``; None when the library does not know the model."""
    if _model(model_id) is None:
        return None
    from genai_prices import Usage, calc_price

    usage = Usage(
        input_tokens=uncached + read + write_5m + write_1h,
        cache_read_tokens=read,
        cache_write_tokens=write_5m + write_1h,
        cache_write_5m_tokens=write_5m,
        cache_write_1h_tokens=write_1h,
        output_tokens=output,
    )
    context = {"speed": terms.speed} if terms.speed else None
    price = calc_price(
        usage, model_id, provider_id=PROVIDER, genai_request_timestamp=at, price_context=context
    )
    return float(price.total_price) * (US_ONLY_MULTIPLIER if terms.geo else 1.0)


def as_datetime(at: float | dt.datetime | None) -> dt.datetime:
    """A request's date: epoch seconds, a datetime, or now."""
    if isinstance(at, dt.datetime):
        return at if at.tzinfo else at.replace(tzinfo=dt.UTC)
    if at is None:
        return dt.datetime.now(dt.UTC)
    return dt.datetime.fromtimestamp(at, dt.UTC)
