"""``ticker config``: the effective configuration, as ``nginx -t`` shows nginx's.

Every ``TICKER_`` setting, derived from the Settings model (top-level fields, and one line per field of each
nested section such as ``TICKER_NBK__INTERVAL``), with its value and where the value came from: the default,
the environment variable that set it, or the command line. Secrets are masked: a password in a URL
(``redis://user:***@host:6379/0``) and any field that is a ``SecretStr``, carries ``json_schema_extra={"secret":
True}`` or is named like a key, token, secret or password (``TICKER_OPEN_METEO__API_KEY`` -> ``***``). A bad value
never gets here: ``load_settings`` exits 2 naming the variable first.
"""

from __future__ import annotations

import json
import os
import re
import sys
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from pydantic import BaseModel, SecretBytes, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import to_jsonable_python

from providers import REGISTRY
from providers.source_config import SourceConfig
from ticker import __version__
from ticker.redis_url import MASK, mask_url_passwords
from ticker.run.startup import startup_warnings
from ticker.settings import ENV_PREFIX, Settings, unknown_variables

_SECRET_NAME = re.compile(r"(^|_)(password|passwd|secret|token|key)$")


@dataclass(frozen=True)
class Line:
    variable: str
    value: str
    source: str


def is_secret(name: str, info: FieldInfo) -> bool:
    extra = info.json_schema_extra
    if isinstance(extra, dict) and extra.get("secret") is True:
        return True
    return _has_secret_type(info.annotation) or bool(_SECRET_NAME.search(name))


def _has_secret_type(annotation: object) -> bool:
    if annotation in (SecretStr, SecretBytes):
        return True
    return any(_has_secret_type(arg) for arg in typing.get_args(annotation))


def _display(value: object, secret: bool) -> str:
    if value is None:
        return "(unset)"
    if secret:
        return MASK
    plain = to_jsonable_python(value)
    text = plain if isinstance(plain, str) else json.dumps(plain, ensure_ascii=False)
    return mask_url_passwords(text)


def _environment() -> dict[str, str]:
    """TICKER_ variables by their upper-cased name (pydantic-settings matches them case-insensitively)."""
    return {name.upper(): name for name in os.environ if name.upper().startswith(ENV_PREFIX)}


def _section_keys(environ_name: str | None) -> set[str]:
    """The keys a whole section given as JSON sets (``TICKER_NBK='{"interval": 60}'``)."""
    if environ_name is None:
        return set()
    try:
        doc = json.loads(os.environ[environ_name])
    except ValueError:
        return set()
    return {str(key).lower() for key in doc} if isinstance(doc, dict) else set()


def lines(settings: Settings, command_line: Mapping[str, object]) -> Iterator[Line]:
    env = _environment()
    for name, info in type(settings).model_fields.items():
        variable = ENV_PREFIX + name.upper()
        value = getattr(settings, name)
        if isinstance(value, BaseModel):  # a nested section: one line per field of it
            whole = env.get(variable)
            for key, sub in type(value).model_fields.items():
                nested = f"{variable}__{key.upper()}"
                source = env.get(nested) or (whole if key in _section_keys(whole) else None) or "default"
                shown = _display(getattr(value, key), is_secret(key, sub))
                if key == "stale_after" and isinstance(value, SourceConfig):
                    shown = _stale_after(name, value)
                yield Line(nested, shown, source)
            continue
        if name in command_line:
            source = f"command line (--{name.replace('_', '-')})"
        else:
            source = env.get(variable) or "default"
        yield Line(variable, _display(value, is_secret(name, info)), source)


def _stale_after(source: str, config: SourceConfig) -> str:
    """STALE_AFTER with what it means: the grace in force, and how long a reading of the source stays current."""
    grace = config.stale_seconds
    text = f"{grace:g}" if config.stale_after is not None else f"(unset: {grace:g}, 2 x interval)"
    cadence = REGISTRY[source].cadence
    if cadence is None:
        return f"{text}; not used: rates are current on the date they are in force"
    return f"{text}; a reading is current for its {cadence:g} s slot + {grace:g} s = {cadence + grace:g} s"


def print_report(settings: Settings, command_line: Mapping[str, object]) -> int:
    """Print the effective configuration to stdout, warnings to stderr; 0 (a bad value exited 2 before)."""
    found = list(lines(settings, command_line))
    width = max(len(line.variable) for line in found)
    print(f"# ticker {__version__}: effective configuration (variable, value, where it came from)")
    for line in found:
        print(f"{line.variable:<{width}}  {line.value}  [{line.source}]")
    for var in unknown_variables():
        print(f"ticker: warning: {var} is not a ticker setting and is ignored", file=sys.stderr)
    for warning in startup_warnings(settings):
        print(f"ticker: warning: {warning}", file=sys.stderr)
    return 0
