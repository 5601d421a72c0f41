"""Every registered provider declares itself and has what adding one takes: samples, a fake route, docs, settings."""

from __future__ import annotations

import inspect
from datetime import date
from pathlib import Path
from typing import get_args

import aiohttp
import pytest
from pytest_aiohttp import AiohttpServer

from providers import REGISTRY, names_of
from providers.base import Kind, Location, Provider
from providers.source_config import SourceConfig
from tests.conftest import START
from tests.fakes import Upstream
from ticker.fetch.sources import build_providers
from ticker.settings import Settings
from ticker.web.openapi import spec

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = Path(__file__).parent / "samples"
PLACES = [
    Location(id="astana", latitude=51.1801, longitude=71.446),
    Location(id="almaty", latitude=43.2565, longitude=76.9285),
]


def test_the_registry_lists_every_provider_once_under_its_own_name() -> None:
    assert REGISTRY.keys() == {"nbk", "cbr", "open_meteo", "met_no", "open_meteo_air"}
    assert names_of("rates") == ("nbk", "cbr")
    assert names_of("weather") == ("open_meteo", "met_no")
    assert names_of("air") == ("open_meteo_air",)
    assert {cls.kind for cls in REGISTRY.values()} == set(get_args(Kind))  # every kind has a provider
    for name, cls in REGISTRY.items():
        assert cls.name == name
        assert cls.kind in get_args(Kind)
        assert issubclass(cls.Config, SourceConfig) and cls.Config is not SourceConfig
        assert cls.Config().base_url.startswith("https://")  # every section works with its defaults
        assert list(inspect.signature(cls).parameters) == ["config", "locations", "clock"]
        assert list(inspect.signature(cls.fetch).parameters) == ["self", "session", "day"]


@pytest.mark.parametrize("name", list(REGISTRY))
def test_each_provider_has_samples(name: str) -> None:
    samples = [path for path in (SAMPLES / name).glob("*") if path.is_file()]
    assert samples, f"tests/samples/{name}/ has no recorded or crafted answers"


@pytest.mark.parametrize("name", list(REGISTRY))
def test_each_provider_is_named_in_the_readme(name: str) -> None:
    readme = (ROOT / "README.md").read_text()
    assert f"TICKER_{name.upper()}__" in readme, f"README does not document the {name} section"


@pytest.mark.parametrize("name", list(REGISTRY))
async def test_each_provider_has_a_route_in_the_fake_upstream(aiohttp_server: AiohttpServer, name: str) -> None:
    fake = Upstream(lambda: START)
    server = await aiohttp_server(fake.app())
    cls = REGISTRY[name]
    config = cls.Config.model_validate({"base_url": str(server.make_url("")), "timeout": 5})
    provider: Provider = cls(config, PLACES, lambda: START)
    async with aiohttp.ClientSession() as session:
        records = await provider.fetch(session, date(2026, 4, 1))
    assert fake.hits == {name: fake.hits[name]} and fake.hits[name] >= 1  # its own route, no one else's
    assert records


def test_settings_sections_and_docs_follow_the_registry() -> None:
    settings = Settings()
    description = spec()["info"]["description"]
    for name, cls in REGISTRY.items():
        assert type(settings.source_config(name)) is cls.Config
        assert f"`{name}`" in description
    with pytest.raises(KeyError):
        settings.source_config("ecb")


def test_build_providers_makes_the_configured_chain_in_order() -> None:
    settings = Settings(rate_sources=["cbr"], weather_sources=["met_no", "open_meteo"])
    built = build_providers(settings, lambda: START)
    assert list(built) == ["cbr", "met_no", "open_meteo"]
    assert [type(provider) for provider in built.values()] == [REGISTRY[name] for name in built]
