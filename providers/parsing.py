"""The helpers the parsers share: safe XML, validated JSON, decimals, currency codes, coordinates, finite numbers
and "one bad item must not cost the others". Anything a parser cannot read leaves as a ``FormatError``."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from typing import ParamSpec, TypeVar
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET
from pydantic import BaseModel, ValidationError

from providers.errors import FormatError, ProviderError

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


@contextmanager
def format_errors(what: str) -> Iterator[None]:
    """Any exception but a ProviderError (OverflowError, decimal errors, RecursionError, UnicodeError, ...)
    leaves as a FormatError: bytes we cannot read are a provider failure, never a crash."""
    try:
        yield
    except ProviderError:
        raise
    except Exception as exc:
        raise FormatError(f"{what}: unreadable ({type(exc).__name__}: {str(exc)[:200]})") from exc


def guarded(func: Callable[P, R]) -> Callable[P, R]:
    """``format_errors`` around a whole parser."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with format_errors(func.__module__.rpartition(".")[2]):
            return func(*args, **kwargs)

    return wrapper


def parse_xml(body: bytes, what: str) -> Element:
    """The safe preamble: defusedxml, no DTD at all (so no entities, no bombs); errors are FormatErrors."""
    with format_errors(f"not well-formed {what} XML"):
        root: Element = SafeET.fromstring(body, forbid_dtd=True)
    return root


def validated(model: type[M], data: object, what: str) -> M:
    """``model`` from decoded JSON; the first problem, with its location, as a FormatError."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise FormatError(f"{what}: {'.'.join(map(str, first['loc']))}: {first['msg']}") from exc


def decimal(text: str | None, what: str, *, comma: bool = False, positive: bool = False) -> Decimal:
    """A finite Decimal from an element's text (``comma``: a decimal comma, as CBR writes)."""
    raw = (text or "").strip()
    try:
        value = Decimal(raw.replace(",", ".") if comma else raw)
    except InvalidOperation as exc:
        raise FormatError(f"{what} {text!r} is not a number") from exc
    if not value.is_finite() or (positive and value <= 0):
        raise FormatError(f"{what} {text!r} is not a {'positive' if positive else 'finite'} number")
    return value


def currency_code(text: str | None, what: str) -> str:
    code = (text or "").strip().upper()
    if len(code) != 3 or not code.isascii() or not code.isalpha():
        raise FormatError(f"{what} {code!r} is not a currency code")
    return code


def collect(items: Iterable[T], build: Callable[[T], R], what: str) -> list[R]:
    """One bad item must not cost the others: build each, keep the good; fail only when none is usable."""
    built: list[R] = []
    problems: list[str] = []
    for item in items:
        try:
            with format_errors(what):
                built.append(build(item))
        except FormatError as exc:
            problems.append(str(exc))
    if not built:
        raise FormatError(f"{what} lists no usable items" + (f": {problems[0]}" if problems else ""))
    return built


def coordinate(value: float) -> str:
    """At most 4 decimals, no trailing zeros, never ``-0`` (MET Norway's terms; Open-Meteo's grid needs no more)."""
    return f"{round(value, 4) + 0.0:.4f}".rstrip("0").rstrip(".")


def finite(value: float, what: str) -> float:
    if not math.isfinite(value):
        raise FormatError(f"{what} is not a finite number")
    return 0.0 if value == 0 else value  # -0.0 -> 0.0
