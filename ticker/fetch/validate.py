"""Checks beyond the schema: a value that is impossible is dropped, one that is implausible is held
back until the next fetch confirms it. Nothing here touches I/O."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from providers.base import AirQuality, Rate, Record, Temperature
from ticker.state import Entry, item_of

MIN_TEMPERATURE, MAX_TEMPERATURE = -90.0, 60.0  # beyond Earth's records
MAX_RATE_JUMP = 0.2  # a fifth against the last good value (the 2015 float moved ~30% once: it is held, then shown)
MAX_TEMPERATURE_JUMP = 30.0  # °C between two fetches
MAX_AQI = 1000.0  # both scales: the US one tops out at 500 by definition; readings "beyond the index" stay under this
MAX_PARTICULATES = 5000.0  # µg/m³: above the worst dust storms measured


def impossible(record: Record) -> str | None:
    if isinstance(record, Rate):
        if not math.isfinite(record.rate) or record.rate <= 0:
            return f"{record.currency}: rate {record.rate} is not a positive number"
        if record.change is not None and not math.isfinite(record.change):
            return f"{record.currency}: change is not finite"
    elif isinstance(record, AirQuality):
        for name, value, limit in (
            ("us_aqi", record.us_aqi, MAX_AQI), ("european_aqi", record.european_aqi, MAX_AQI),
            ("pm2_5", record.pm2_5, MAX_PARTICULATES), ("pm10", record.pm10, MAX_PARTICULATES),
        ):  # fmt: skip
            if value is not None and not 0 <= value <= limit:
                return f"{record.city}: {name} {value} is outside any measured air"
    elif record.temperature is not None and not MIN_TEMPERATURE <= record.temperature <= MAX_TEMPERATURE:
        return f"{record.city}: {record.temperature} °C is outside physical bounds"
    return None


def jump(record: Record, last: Record) -> bool:
    if isinstance(record, Rate) and isinstance(last, Rate):
        return abs(record.rate - last.rate) > MAX_RATE_JUMP * last.rate
    if isinstance(record, Temperature) and isinstance(last, Temperature):
        if record.temperature is None or last.temperature is None:
            return False
        return abs(record.temperature - last.temperature) > MAX_TEMPERATURE_JUMP
    return False


@dataclass
class Verdict:
    accepted: list[Record] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)


@dataclass
class Validator:
    """Per source: remembers values held back, so the next fetch can confirm them."""

    held: dict[str, Record] = field(default_factory=dict)

    def check(self, records: Iterable[Record], wanted: set[str], last_good: Mapping[str, Entry]) -> Verdict:
        """``last_good`` maps an item (currency, city) to the newest value held for it."""
        verdict = Verdict()
        for record in records:
            key = item_of(record)
            if key not in wanted:
                continue
            problem = impossible(record)
            if problem:
                verdict.rejected.append(problem)
                continue
            last = last_good.get(key)
            pending = self.held.pop(key, None)
            implausible = last is not None and jump(record, last.record)
            if implausible and (pending is None or jump(record, pending)):
                self.held[key] = record  # wait for a second opinion
                verdict.held.append(key)
                continue
            verdict.accepted.append(record)
        return verdict
