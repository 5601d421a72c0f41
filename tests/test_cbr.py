"""CBR: the pure parser on real and recorded-format bytes, and the fetch over loopback HTTP."""

from __future__ import annotations

import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from hypothesis import given, settings
from hypothesis import strategies as st
from pytest_aiohttp import AiohttpServer

from providers.base import FormatError, UpstreamStatusError
from providers.cbr import Cbr, Config, parse
from tests.conftest import by_code

SAMPLES = Path(__file__).parent / "samples" / "cbr"
REAL = (SAMPLES / "cbr_xml_daily.xml").read_bytes()  # www.cbr.ru, fetched 2026-04-26, windows-1251
OLD = (SAMPLES / "cbr_2023-09-27_no_vunitrate.xml").read_bytes()  # older format: no VunitRate
CHALLENGE = (SAMPLES / "ddos_guard_challenge.html").read_bytes()
BOMB = (SAMPLES / "billion_laughs.xml").read_bytes()


def doc(*valutes: str, day: str = "25.04.2026", root: str = "ValCurs") -> bytes:
    body = f'<?xml version="1.0" encoding="windows-1251"?><{root} Date="{day}" name="Foreign Currency Market">'
    return (body + "".join(valutes) + f"</{root}>").encode("cp1251")


def valute(code: str, nominal: str, value: str, unit: str | None = None, vid: str = "R0") -> str:
    unit_tag = "" if unit is None else f"<VunitRate>{unit}</VunitRate>"
    return (
        f'<Valute ID="{vid}"><CharCode>{code}</CharCode><Nominal>{nominal}</Nominal><Name>Имя</Name>'
        f"<Value>{value}</Value>{unit_tag}</Valute>"
    )


KZT = valute("KZT", "100", "16,3172", "0,163172", vid="R01335")


def test_real_sample_is_crossed_into_kzt_per_one_unit() -> None:
    rates = by_code(parse(REAL))
    assert len(rates) == 54  # 54 Valute: KZT drops out, RUB comes in
    assert "KZT" not in rates
    assert {rate.date for rate in rates.values()} == {date(2026, 4, 25)}
    assert round(rates["USD"].rate, 2) == 462.87
    assert round(rates["EUR"].rate, 2) == 541.04
    assert round(rates["CNY"].rate, 2) == 67.58
    assert round(rates["RUB"].rate, 4) == 6.1285
    assert round(rates["HKD"].rate, 4) == round(9.65699 / 0.163172, 4)  # Nominal 10
    assert rates["IRR"].rate == pytest.approx(
        5.39256e-05 / 0.163172, rel=1e-5
    )  # 6 significant digits  # VunitRate "5,39256E-05"
    assert all(rate.change is None and rate.trend is None for rate in rates.values())


def test_older_document_without_vunitrate_divides_value_by_nominal() -> None:
    rates = by_code(parse(OLD))
    kzt_per_rub = Decimal("20.2219") / 100
    assert rates.keys() == {"RUB", "USD", "EUR", "UAH", "JPY"}
    assert {rate.date for rate in rates.values()} == {date(2023, 9, 27)}
    assert rates["UAH"].rate == pytest.approx(
        float(Decimal("26.1299") / 10 / kzt_per_rub), rel=1e-5
    )  # 12.92, not 129.2
    assert round(rates["UAH"].rate, 2) == 12.92
    assert round(rates["USD"].rate, 2) == 477.25
    assert round(rates["JPY"].rate, 3) == 3.202
    assert round(rates["RUB"].rate, 4) == 4.9451


def test_vunitrate_is_preferred_over_value() -> None:
    rates = by_code(parse(doc(KZT, valute("USD", "1", "999,0000", "75,5273"))))
    assert round(rates["USD"].rate, 2) == 462.87


def test_kzt_is_found_by_id_when_charcode_is_missing() -> None:
    kzt = '<Valute ID="R01335"><Nominal>100</Nominal><Name>Тенге</Name><Value>16,3172</Value></Valute>'
    rates = by_code(parse(doc(kzt, valute("USD", "1", "75,5273"))))
    assert round(rates["USD"].rate, 2) == 462.87


def test_a_malformed_valute_is_skipped_not_fatal() -> None:
    body = doc(
        valute("USD", "1", "75,5273"),
        valute("XXX", "1", "n/a"),
        valute("YYY", "0", "10,0000"),
        valute("ZZZ", "1", "-1,0000"),
        valute("12", "1", "1,0000"),
        valute("AAA", "1", "1E+999999"),
        KZT,
    )
    assert by_code(parse(body)).keys() == {"RUB", "USD"}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (CHALLENGE, "DDoS-Guard HTML challenge (DOCTYPE)"),
        (b"<html><head><title>DDoS-Guard</title></head><body>wait</body></html>", "well-formed HTML"),
        (REAL[: len(REAL) // 2], "truncated"),
        (b"", "empty"),
        (doc(KZT, valute("USD", "1", "75,5273"), root="Rates"), "wrong root"),
        (doc(KZT, valute("USD", "1", "75,5273"), day="2026-04-25"), "unreadable date"),
        (doc(valute("USD", "1", "75,5273")), "no KZT"),
        (doc(valute("KZT", "100", "n/a"), valute("USD", "1", "75,5273")), "unusable KZT"),
        (doc(KZT), "nothing but KZT"),
        (doc(KZT, valute("USD", "1", "n/a")), "nothing usable"),
    ],
)
def test_not_a_usable_document_is_a_format_error(body: bytes, reason: str) -> None:
    with pytest.raises(FormatError):
        parse(body)


@pytest.mark.parametrize(
    "body",
    [
        BOMB,
        b'<?xml version="1.0"?><!DOCTYPE ValCurs [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<ValCurs Date="25.04.2026"><Valute ID="R01335"><Name>&x;</Name></Valute></ValCurs>',
    ],
    ids=["billion-laughs", "external-entity"],
)
def test_entities_and_dtds_are_refused_fast(body: bytes) -> None:
    started = time.perf_counter()
    with pytest.raises(FormatError):
        parse(body)
    assert time.perf_counter() - started < 0.5


@settings(database=None, max_examples=200, deadline=None)
@given(cut=st.integers(min_value=0, max_value=len(REAL) - 1))
def test_every_truncation_of_the_real_sample_is_a_format_error(cut: int) -> None:
    with pytest.raises(FormatError):
        parse(REAL[:cut])


async def serve(aiohttp_server: AiohttpServer, status: int, body: bytes, content_type: str) -> tuple[Config, list[str]]:
    hits: list[str] = []

    async def daily(request: web.Request) -> web.Response:
        hits.append(request.path_qs)
        return web.Response(status=status, body=body, headers={"Content-Type": content_type})

    app = web.Application()
    app.router.add_get("/scripts/XML_daily.asp", daily)
    server = await aiohttp_server(app)
    return Config(base_url=f"http://{server.host}:{server.port}", timeout=5), hits


async def test_fetch_reads_the_raw_windows_1251_bytes(aiohttp_server: AiohttpServer) -> None:
    config, hits = await serve(aiohttp_server, 200, REAL, "text/xml; charset=windows-1251")
    async with aiohttp.ClientSession() as session:
        rates = by_code(list(await Cbr(config).fetch(session)))
    assert hits == ["/scripts/XML_daily.asp"]
    assert round(rates["USD"].rate, 2) == 462.87
    assert Cbr.name == "cbr"
    assert Cbr.kind == "rates"


async def test_fetch_html_challenge_with_200_is_a_format_error(aiohttp_server: AiohttpServer) -> None:
    config, _ = await serve(aiohttp_server, 200, CHALLENGE, "text/html; charset=utf-8")
    async with aiohttp.ClientSession() as session:
        with pytest.raises(FormatError):
            await Cbr(config).fetch(session)


async def test_fetch_server_error_is_a_transient_status_error(aiohttp_server: AiohttpServer) -> None:
    config, _ = await serve(aiohttp_server, 503, b"busy", "text/plain")
    async with aiohttp.ClientSession() as session:
        with pytest.raises(UpstreamStatusError) as caught:
            await Cbr(config).fetch(session)
    assert caught.value.status == 503
    assert caught.value.transient


def test_config_defaults() -> None:
    config = Config()
    assert config.base_url == "https://www.cbr.ru"
    assert config.interval == 3600
