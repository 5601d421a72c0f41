"""The registry of upstreams: adding one is a module here, one line below, and its samples under tests/samples."""

from __future__ import annotations

from providers.base import Kind, Provider
from providers.cbr import Cbr
from providers.met_no import MetNo
from providers.nbk import Nbk
from providers.open_meteo import OpenMeteo
from providers.open_meteo_air import OpenMeteoAir

REGISTRY: dict[str, type[Provider]] = {cls.name: cls for cls in (Nbk, Cbr, OpenMeteo, MetNo, OpenMeteoAir)}


def names_of(kind: Kind) -> tuple[str, ...]:
    """The registered source names of one kind, in registry order."""
    return tuple(name for name, cls in REGISTRY.items() if cls.kind == kind)
