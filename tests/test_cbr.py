"""CBR: the pure parser on real and recorded-format bytes, and the fetch over loopback HTTP."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest
from defusedxml import DTDForbidden
from hypothesis import given, settings
from hypothesis import strategies as st

from providers.cbr import Cbr, Config, in_force_on, parse
from providers.errors import FormatError, UpstreamStatusError
from tests.conftest import Upstreams, by_code

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
    # HKD: 96,5699 RUB per 10 (VunitRate 9,65699) over KZT's 16,3172 RUB per 100: 59.1829 tenge, 6 digits
    assert rates["HKD"].rate == 59.1829
    # IRR: VunitRate "5,39256E-05", scientific with a comma (53,9256 per 1,000,000): 0.000330483 tenge
    assert rates["IRR"].rate == 0.000330483
    assert {rate.in_force for rate in rates.values()} == {None}  # parsed without a date asked
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
def test_entities_and_dtds_are_refused_before_any_expansion(body: bytes) -> None:
    with pytest.raises(FormatError) as caught:
        parse(body)
    assert isinstance(caught.value.__cause__, DTDForbidden)


OVERFLOW = "1E+999999999"  # a finite Decimal whose arithmetic overflows the decimal context


@pytest.mark.parametrize(
    "body",
    [
        doc(valute("KZT", "100", "16,3172", "1E-999999999", vid="R01335"), valute("USD", "1", "75,5273")),
        doc(valute("KZT", "100", "16,3172", OVERFLOW, vid="R01335"), valute("USD", "1", "75,5273")),
        doc(valute("KZT", "1E-999999999", "16,3172", vid="R01335"), valute("USD", "1", "75,5273")),
        doc(KZT, valute("USD", "1", "1" + "0" * 400)),
        doc(KZT, valute("USD", "1", "75,5273"), day="31.12.9999999999"),
        REAL.replace(b"windows-1251", b"x-cbr-unknown"),
        REAL.replace(b"windows-1251", b"utf-8"),  # Cyrillic cp1251 bytes are not UTF-8
        REAL.replace(b"windows-1251", b"utf-16"),
        b"<ValCurs>" * 100_000,
    ],
    ids=[
        "kzt-tiny-exponent",
        "kzt-huge-exponent",
        "kzt-nominal-exponent",
        "400-digits",
        "absurd-date",
        "unknown-encoding",
        "not-utf8",
        "declared-utf16",
        "deep-nesting",
    ],
)
def test_crafted_bodies_that_once_escaped_as_other_errors_are_format_errors(body: bytes) -> None:
    with pytest.raises(FormatError):
        parse(body)


SATURDAY, SUNDAY, MONDAY = date(2026, 4, 25), date(2026, 4, 26), date(2026, 4, 27)


@pytest.mark.parametrize(
    ("asked", "in_force"),
    [
        (SATURDAY, SATURDAY),  # the document of the day asked
        (SUNDAY, SUNDAY),  # Saturday's document is in force through Monday
        (MONDAY, MONDAY),
        (date(2026, 5, 5), date(2026, 5, 5)),  # ten days on: the longest holiday run still counts
        (date(2026, 5, 6), None),  # eleven days: an old document, not the one in force
        (date(2029, 4, 25), None),  # three years old
        (date(2026, 4, 24), None),  # a document dated after the day asked is tomorrow's, not in force
    ],
)
def test_in_force_on_the_day_asked_only_when_the_document_can_be_the_one_in_force(
    asked: date, in_force: date | None
) -> None:
    assert in_force_on(SATURDAY, asked) == in_force
    rates = parse(REAL, asked)  # the real sample is dated Saturday 25.04.2026
    assert {(rate.date, rate.in_force) for rate in rates} == {(SATURDAY, in_force)}
    assert {rate.valid_on for rate in rates} == {in_force or SATURDAY}


@settings(database=None, max_examples=200, deadline=None)
@given(cut=st.integers(min_value=0, max_value=len(REAL) - 1))
def test_every_truncation_of_the_real_sample_is_a_format_error(cut: int) -> None:
    with pytest.raises(FormatError):
        parse(REAL[:cut])


DAILY = "/scripts/XML_daily.asp"


def cbr(upstream: Upstreams) -> Cbr:
    """CBR's provider against the one fake upstream (tests/fakes.py)."""
    return Cbr(Config(base_url=upstream.url, timeout=5), [], lambda: datetime(2026, 4, 26, 7, tzinfo=UTC))


async def test_fetch_reads_the_raw_windows_1251_bytes(upstream: Upstreams) -> None:
    upstream.fake.body["cbr"] = REAL  # served as text/xml; charset=windows-1251, as CBR does
    async with aiohttp.ClientSession() as session:
        rates = by_code(list(await cbr(upstream).fetch(session, SATURDAY)))
    assert upstream.fake.queries == [(DAILY, {"date_req": "25/04/2026"})]
    assert round(rates["USD"].rate, 2) == 462.87
    assert Cbr.name == "cbr"
    assert Cbr.kind == "rates"


async def test_fetch_html_challenge_with_200_is_a_format_error(upstream: Upstreams) -> None:
    upstream.fake.body["cbr"] = CHALLENGE
    async with aiohttp.ClientSession() as session:
        with pytest.raises(FormatError):
            await cbr(upstream).fetch(session, SATURDAY)


async def test_fetch_server_error_is_a_transient_status_error(upstream: Upstreams) -> None:
    upstream.fake.fault["cbr"] = "503"
    async with aiohttp.ClientSession() as session:
        with pytest.raises(UpstreamStatusError) as caught:
            await cbr(upstream).fetch(session, SATURDAY)
    assert caught.value.status == 503
    assert caught.value.transient


@pytest.mark.parametrize(
    ("asked", "date_req", "in_force"),
    [(SUNDAY, "26/04/2026", SUNDAY), (date(2029, 4, 25), "25/04/2029", None), (date(2026, 4, 24), "24/04/2026", None)],
    ids=["sunday-gets-saturdays", "three-years-on", "the-day-before"],
)
async def test_fetch_asks_for_the_day_and_says_whether_the_answer_is_in_force_on_it(
    upstream: Upstreams, asked: date, date_req: str, in_force: date | None
) -> None:
    upstream.fake.body["cbr"] = REAL
    async with aiohttp.ClientSession() as session:
        rates = await cbr(upstream).fetch(session, asked)
    assert upstream.fake.queries == [(DAILY, {"date_req": date_req})]
    assert {(rate.date, rate.in_force) for rate in rates} == {(SATURDAY, in_force)}


def test_config_defaults() -> None:
    config = Config()
    assert config.base_url == "https://www.cbr.ru"
    assert config.interval == 14400
