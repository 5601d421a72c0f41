"""The OpenAPI document's query parameters, with patterns that say exactly what ticker/render/query.py accepts:
case-insensitive lists of the configured values, including the non-ASCII letters that fold onto ASCII ones."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cache
from typing import Any

from ticker.render.query import KNOWN
from ticker.settings import LANGS


@cache
def spelled(normalise: Callable[[str], str], char: str) -> frozenset[str]:
    """Every character that ``normalise`` (str.upper / str.lower, as render/query.py applies) turns into ``char``:
    "s" and "ſ" both upper to "S", so a pattern honest about what the service accepts lists both."""
    return frozenset({char} | {c for c in ALTERNATES if normalise(c) == char} | {char.lower(), char.upper()})


# the non-ASCII characters whose upper or lower case is one ASCII letter: dotless ı -> I, long ſ -> S, Kelvin K -> k
# (tests/test_openapi.py checks this list against the whole of Unicode)
ALTERNATES: tuple[str, ...] = ("\u0131", "\u017f", "\u212a")


def char_class(chars: Iterable[str]) -> str:
    """An ECMA-262 character class (as JSON Schema's ``pattern`` reads it) of exactly these characters."""
    body = "".join("\\" + c if c in "\\]^-[" else c for c in sorted(chars))
    return f"[{body}]"


def list_pattern(allowed: Iterable[str], normalise: Callable[[str], str]) -> str:
    """The comma-separated lists of allowed values ticker/render/query.py accepts: items trimmed of white space and
    compared after ``normalise``; no empty item, no empty list."""
    words = [
        "".join(char_class(spelled(normalise, c)) if c.isalpha() else char_class(c) for c in value) for value in allowed
    ]
    item = rf"\s*(?:{'|'.join(words)})\s*"
    return f"^{item}(?:,{item})*$"


def strip_parameters(currencies: tuple[str, ...], cities: tuple[str, ...]) -> list[dict[str, Any]]:
    described: dict[str, tuple[str, str, dict[str, Any]]] = {
        "currencies": (
            "Comma-separated ISO codes, a subset of the configured ones, in the order wanted (case-insensitive)",
            ",".join(currencies[:2]),
            {"type": "string", "pattern": list_pattern(currencies, str.upper)},
        ),
        "cities": (
            "Comma-separated city ids, a subset of the configured ones, in the order wanted (case-insensitive)",
            cities[0],
            {"type": "string", "pattern": list_pattern(cities, str.lower)},
        ),
        "lang": (f"Language of city names: {', '.join(LANGS)}", "ru", {"type": "string", "enum": list(LANGS)}),
    }
    out = []
    for name in KNOWN:
        text, example, schema = described[name]
        out.append(
            {
                "name": name,
                "in": "query",
                "required": False,
                "description": text,
                "schema": schema,
                "example": example,
            }
        )
    return out
