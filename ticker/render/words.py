"""The strip's own words in en, ru and kk: one list (words.json beside this module) for the HTML fragment here
and for the widget, into which widget/build.mjs writes the same file at build time."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from providers.base import Condition


class Words:
    """One language's words: ``words["stale"]``; ``words.sky[condition]``."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.sky: dict[Condition, str] = dict(raw.pop("sky"))
        self.text: dict[str, str] = {str(k): str(v) for k, v in raw.items()}

    def __getitem__(self, key: str) -> str:
        return self.text[key]


def _load() -> dict[str, Words]:
    raw = json.loads(resources.files("ticker.render").joinpath("words.json").read_text(encoding="utf-8"))
    return {lang: Words(words) for lang, words in raw.items()}


WORDS = _load()
