"""The explicit registry of upstreams: name -> provider built from its settings section."""

from __future__ import annotations

from collections.abc import Callable

from providers import cbr, met_no, nbk, open_meteo
from providers.base import Provider
from ticker.settings import Settings

Factory = Callable[[Settings], Provider]

REGISTRY: dict[str, Factory] = {
    "nbk": lambda s: nbk.Nbk(s.nbk),
    "cbr": lambda s: cbr.Cbr(s.cbr),
    "open_meteo": lambda s: open_meteo.OpenMeteo(s.open_meteo, s.locations),
    "met_no": lambda s: met_no.MetNo(s.met_no, s.locations),
}


def build_providers(settings: Settings) -> dict[str, Provider]:
    return {name: REGISTRY[name](settings) for name in settings.source_names}
