"""Query parameters shared by /v1/ticker, /v1/rates, /v1/weather and /v1/stream."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from multidict import MultiMapping

from ticker.settings import LANGS, Settings

KNOWN = ("currencies", "cities", "lang")


class QueryError(ValueError):
    def __init__(self, parameter: str, message: str, allowed: list[str]) -> None:
        super().__init__(message)
        self.parameter = parameter
        self.allowed = allowed


@dataclass(frozen=True)
class Query:
    currencies: tuple[str, ...]
    cities: tuple[str, ...]
    lang: str = "en"


def default_query(settings: Settings) -> Query:
    return Query(tuple(settings.currencies), tuple(c.id for c in settings.cities), "en")


def _pick(raw: str, name: str, allowed: tuple[str, ...], normalise: Callable[[str], str]) -> tuple[str, ...]:
    items = [normalise(part.strip()) for part in raw.split(",")]
    if not raw.strip() or any(not item for item in items):
        raise QueryError(name, f"{name} must be a comma-separated list", list(allowed))
    unknown = [item for item in items if item not in allowed]
    if unknown:
        raise QueryError(name, f"unknown {name}: {', '.join(unknown[:5])}", list(allowed))
    return tuple(dict.fromkeys(items))  # keep the asked order, drop repeats


def parse_query(params: MultiMapping[str], default: Query) -> Query:
    """The request's filters, in the asked order; QueryError names what is allowed."""
    unknown = sorted(set(params) - set(KNOWN))
    if unknown:
        raise QueryError(unknown[0], f"unknown query parameter {unknown[0]!r}", list(KNOWN))
    allowed = {"currencies": list(default.currencies), "cities": list(default.cities), "lang": list(LANGS)}
    for name in KNOWN:
        if len(params.getall(name, ())) > 1:
            raise QueryError(name, f"{name} is given more than once: give one comma-separated list", allowed[name])
    currencies, cities, lang = default.currencies, default.cities, default.lang
    if "currencies" in params:
        currencies = _pick(params["currencies"], "currencies", default.currencies, str.upper)
    if "cities" in params:
        cities = _pick(params["cities"], "cities", default.cities, str.lower)
    if "lang" in params:
        lang = params["lang"].strip().lower()
        if lang not in LANGS:
            raise QueryError("lang", f"unknown lang {params['lang']!r}", list(LANGS))
    return Query(currencies, cities, lang)
