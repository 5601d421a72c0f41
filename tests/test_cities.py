"""The built-in catalog of Kazakh cities: TICKER_CITIES by id, `all`, mixed with JSON objects, and unknown ids."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from tests.conftest import AppFactory, SettingsFactory, Upstreams
from ticker.settings import Settings, describe_error
from ticker.web.appkeys import REFRESHER

# the three cities of republican significance and the seventeen regional centres, as each writes its name
# (en, ru, kk), transcribed from the issue and the cities' own official spellings, not from ticker/cities.json
EXPECTED = [
    ("astana", "Astana", "Астана", "Астана"),
    ("almaty", "Almaty", "Алматы", "Алматы"),
    ("shymkent", "Shymkent", "Шымкент", "Шымкент"),
    ("aktau", "Aktau", "Актау", "Ақтау"),
    ("aktobe", "Aktobe", "Актобе", "Ақтөбе"),
    ("atyrau", "Atyrau", "Атырау", "Атырау"),
    ("karaganda", "Karaganda", "Караганда", "Қарағанды"),
    ("kokshetau", "Kokshetau", "Кокшетау", "Көкшетау"),
    ("konaev", "Konaev", "Конаев", "Қонаев"),
    ("kostanay", "Kostanay", "Костанай", "Қостанай"),
    ("kyzylorda", "Kyzylorda", "Кызылорда", "Қызылорда"),
    ("oral", "Oral", "Уральск", "Орал"),
    ("oskemen", "Oskemen", "Усть-Каменогорск", "Өскемен"),
    ("pavlodar", "Pavlodar", "Павлодар", "Павлодар"),
    ("petropavl", "Petropavl", "Петропавловск", "Петропавл"),
    ("semey", "Semey", "Семей", "Семей"),
    ("taldykorgan", "Taldykorgan", "Талдыкорган", "Талдықорған"),
    ("taraz", "Taraz", "Тараз", "Тараз"),
    ("turkistan", "Turkistan", "Туркестан", "Түркістан"),
    ("zhezkazgan", "Zhezkazgan", "Жезказган", "Жезқазған"),
]
IDS = [row[0] for row in EXPECTED]


def invalid(monkeypatch: pytest.MonkeyPatch, value: str) -> str:
    monkeypatch.setenv("TICKER_CITIES", value)
    with pytest.raises(ValidationError) as caught:
        Settings()
    return describe_error(caught.value)


def test_all_is_the_twenty_cities_with_their_own_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TICKER_CITIES", "all")
    cities = Settings().cities
    got = [(c.id, c.display_name("en"), c.display_name("ru"), c.display_name("kk")) for c in cities]
    assert got == EXPECTED


def test_every_catalog_city_lies_in_kazakhstan_with_four_decimals(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TICKER_CITIES", "all")
    for city in Settings().cities:
        assert 40.5 < city.latitude < 55.5 and 46.5 < city.longitude < 87.5, city.id  # Kazakhstan's bounding box
        assert round(city.latitude, 4) == city.latitude and round(city.longitude, 4) == city.longitude
    places = {(c.latitude, c.longitude) for c in Settings().cities}
    assert len(places) == 20  # no city copied onto another


@pytest.mark.parametrize(
    "value", ["karaganda,oskemen,oral", '["karaganda", "oskemen", "oral"]', " Karaganda , OSKEMEN,oral"]
)
def test_ids_comma_separated_or_a_json_list_in_the_order_given(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("TICKER_CITIES", value)
    cities = Settings().cities
    assert [c.id for c in cities] == ["karaganda", "oskemen", "oral"]
    assert [c.display_name("kk") for c in cities] == ["Қарағанды", "Өскемен", "Орал"]
    assert [c.display_name("ru") for c in cities] == ["Караганда", "Усть-Каменогорск", "Уральск"]


def test_ids_mix_with_json_objects_for_other_places(monkeypatch: pytest.MonkeyPatch) -> None:
    ekibastuz = {"id": "ekibastuz", "name": "Ekibastuz", "latitude": 51.7237, "longitude": 75.3229,
                 "names": {"ru": "Экибастуз", "kk": "Екібастұз"}}  # fmt: skip
    monkeypatch.setenv("TICKER_CITIES", json.dumps(["pavlodar", ekibastuz], ensure_ascii=False))
    cities = Settings().cities
    assert [c.id for c in cities] == ["pavlodar", "ekibastuz"]
    assert cities[1].display_name("kk") == "Екібастұз"
    assert [loc.id for loc in Settings().locations] == ["pavlodar", "ekibastuz"]


def test_an_unknown_id_names_the_variable_and_lists_the_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    text = invalid(monkeypatch, "astana,uralsk")
    assert text.startswith("invalid configuration:\n  TICKER_CITIES: ")
    assert "unknown city ids ['uralsk']" in text
    assert "the catalog has: " + ", ".join(IDS) in text


def test_an_id_twice_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "unique ids" in invalid(monkeypatch, "astana,astana")


def test_the_default_stays_astana_and_almaty() -> None:
    assert [c.id for c in Settings().cities] == ["astana", "almaty"]


async def test_all_serves_twenty_cities_in_kazakh_and_russian_from_one_request(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams
) -> None:
    client = await start_app(make_settings(cities="all"))
    assert await client.app[REFRESHER].run("open_meteo") == "ok"
    kk = await (await client.get("/v1/weather?lang=kk")).json()
    ru = await (await client.get("/v1/weather?lang=ru")).json()
    assert [item["name"] for item in kk["weather"]] == [row[3] for row in EXPECTED]
    assert [item["name"] for item in ru["weather"]] == [row[2] for row in EXPECTED]
    assert [item["city"] for item in ru["weather"]] == IDS
    assert all(item["temperature"] is not None and not item["stale"] for item in ru["weather"])
    assert len(upstream.fake.asked("/v1/forecast")) == 1
    assert len(upstream.fake.asked("/v1/forecast")[0]["latitude"].split(",")) == 20


def test_an_unknown_id_stops_ticker_config_with_exit_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ticker.run.cli import main

    monkeypatch.setenv("TICKER_CITIES", "astana,paris")
    with pytest.raises(SystemExit) as exited:
        main(["config"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "TICKER_CITIES:" in err and "zhezkazgan" in err


def test_ticker_config_shows_the_resolved_cities(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ticker.run.cli import main

    monkeypatch.setenv("TICKER_CITIES", "oskemen")
    main(["config"])
    line = next(row for row in capsys.readouterr().out.splitlines() if row.startswith("TICKER_CITIES"))
    assert "Өскемен" in line and "49.9" in line and "TICKER_CITIES" in line.split()[-1]
