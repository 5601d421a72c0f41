"""Air-quality items for the strip: the picked reading of each city as the public ``AirItem``, headline index and
category (``ticker.render.aqi``) included. Pure, like the rest of the strip."""

from __future__ import annotations

from datetime import datetime

from providers.base import AirQuality
from ticker.models import AirIndex, AirItem
from ticker.render.aqi import category, words
from ticker.state import Entry


def air_item(
    city: str, name: str, entry: Entry | None, stale: bool, stale_at: datetime | None, index: AirIndex, lang: str
) -> AirItem:
    """``entry`` is the reading the city shows (None before any data: null values, stale)."""
    record = entry.record if entry is not None else None
    if entry is None or not isinstance(record, AirQuality):
        return AirItem(
            city=city, name=name, aqi=None, index=index, category=None, label=None, pm2_5=None, pm10=None,
            observed_at=None, source=None, stale=True, stale_at=None,
        )  # fmt: skip
    value = record.us_aqi if index == "us" else record.european_aqi
    named = category(value, index)
    return AirItem(
        city=city,
        name=name,
        aqi=value,
        index=index,
        category=named,
        label=None if named is None else words(named, lang),
        pm2_5=record.pm2_5,
        pm10=record.pm10,
        observed_at=record.observed_at,
        source=entry.source,
        stale=stale,
        stale_at=stale_at,
    )
