"""NBK: the pure parser on real and crafted bytes, and the fetch (date, fallback, caps) over loopback HTTP."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from pathlib import Path

import aiohttp
import pytest
from defusedxml import DTDForbidden

from providers.cbr import Config as CbrConfig
from providers.errors import FormatError, ResponseTooLarge, UpstreamStatusError
from providers.nbk import Config, Nbk, parse
from tests.conftest import Upstreams, by_code
from ticker.clock import astana_date

SAMPLES = Path(__file__).parent / "samples" / "nbk"
GET_RATES = (SAMPLES / "nbk_get_rates_2026-04-01.xml").read_bytes()  # real, fdate=01.04.2026
LEGACY = (SAMPLES / "nbk_rates_all_2016-04-18_legacy.xml").read_bytes()  # real rates_all.xml, 18.04.2016
# crafted in NBK's two formats as providers/nbk.py describes them
FOUR_DIGIT = (SAMPLES / "crafted_rates_all_2025-05-12_four_digit_years.xml").read_bytes()
MAINTENANCE = (SAMPLES / "crafted_maintenance_page.html").read_bytes()
BOMB = (SAMPLES / "crafted_billion_laughs.xml").read_bytes()
XXE = (SAMPLES / "crafted_external_entity.xml").read_bytes()

CHANNEL = (
    "<generator>Alternate RSS Builder</generator>"
    "<title>Official exchange rates of National Bank of Republic Kazakhstan</title>"
    "<link>www.nationalbank.kz</link>"
    "<description>Official exchange rates of National Bank of Republic Kazakhstan</description>"
)


def item(
    code: str,
    value: str,
    quant: str = "1",
    index: str = "<index></index>",
    change: str = "0.00",
    pub: str | None = None,
) -> str:
    pub_tag = "" if pub is None else f"<pubDate>{pub}</pubDate>"
    return (
        f"<item><fullname>ВАЛЮТА</fullname><title>{code}</title>{pub_tag}<description>{value}</description>"
        f"<quant>{quant}</quant>{index}<change>{change}</change></item>"
    )


def rates_doc(*items: str, day: str | None = "01.04.2026", root: str = "rates") -> bytes:
    date_tag = "" if day is None else f"<date>{day}</date>"
    return (f'<?xml version="1.0" encoding="utf-8"?><{root}>{CHANNEL}{date_tag}{"".join(items)}</{root}>').encode()


def rss_doc(*items: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>{CHANNEL}{"".join(items)}</channel></rss>'
    ).encode()


# --- the pure parser ------------------------------------------------------------------------------


def test_real_get_rates_sample_gives_kzt_per_one_unit() -> None:
    rates = by_code(parse(GET_RATES))
    assert len(rates) == 39
    assert {rate.date for rate in rates.values()} == {date(2026, 4, 1)}
    assert rates["USD"].rate == 478.77
    assert rates["EUR"].rate == 548.62
    assert rates["RUB"].rate == 5.87
    assert rates["CNY"].rate == 69.31
    assert rates["KRW"].rate == pytest.approx(0.3129)  # 31.29 per 100
    assert rates["AMD"].rate == pytest.approx(1.272)  # 12.72 per 10
    assert rates["JPY"].rate == 3.0  # "3", quant 1
    assert rates["IRR"].rate == pytest.approx(0.0004)  # 0.4 per 1000
    assert rates["UZS"].rate == pytest.approx(0.0393)  # 3.93 per 100
    assert "XDR" in rates


def test_real_get_rates_sample_changes_and_trends() -> None:
    rates = by_code(parse(GET_RATES))
    assert (rates["USD"].change, rates["USD"].trend) == (-2.77, "down")
    assert rates["HUF"].change == pytest.approx(0.002)  # "+0.02" per 10
    assert rates["HUF"].trend == "up"
    assert rates["KRW"].change == pytest.approx(-0.0047)  # the change is per quant units too
    assert rates["AMD"].change == pytest.approx(-0.008)
    assert (rates["INR"].change, rates["INR"].trend) == (0.0, "flat")  # <index></index>, 0.00


def test_channel_header_is_not_an_item() -> None:
    # the header reuses <title> and <description>; here they even look like a currency and a rate
    header = "<title>USD</title><description>999.99</description>"
    body = f'<?xml version="1.0"?><rates>{header}<date>01.04.2026</date>{item("EUR", "548.62")}</rates>'
    assert [(rate.currency, rate.rate) for rate in parse(body.encode())] == [("EUR", 548.62)]
    rss = f'<?xml version="1.0"?><rss><channel>{header}{item("EUR", "548.62", pub="01.04.2026")}</channel></rss>'
    assert [(rate.currency, rate.rate) for rate in parse(rss.encode())] == [("EUR", 548.62)]


def test_real_legacy_rates_all_two_digit_years_drops_discontinued() -> None:
    rates = by_code(parse(LEGACY))
    assert len(rates) == 39  # 42 items, LVL (31.12.13), EEK (31.12.10), TRL (05.01.05) dropped
    assert rates.keys().isdisjoint({"LVL", "EEK", "TRL"})
    assert {rate.date for rate in rates.values()} == {date(2016, 4, 18)}
    assert rates["USD"].rate == 334.41
    assert rates["IRR"].rate == pytest.approx(0.01108)  # 11.08 per 1000
    assert rates["HUF"].rate == pytest.approx(1.211)
    assert rates["BYR"].rate == pytest.approx(0.0168)
    assert {(rate.change, rate.trend) for rate in rates.values()} == {(0.0, "flat")}  # a Monday


def test_rates_all_with_four_digit_years() -> None:
    rates = by_code(parse(FOUR_DIGIT))
    assert rates.keys() == {"USD", "EUR", "RUB", "CNY", "KRW", "IRR", "JPY"}  # LVL of 31.12.2013 dropped
    assert {rate.date for rate in rates.values()} == {date(2025, 5, 12)}
    assert rates["USD"].rate == 513.52
    assert rates["KRW"].rate == pytest.approx(0.369)
    assert {rate.trend for rate in rates.values()} == {"flat"}  # "<index></index>" and "<index/>"


@pytest.mark.parametrize(
    ("index", "change", "trend", "value"),
    [
        ("<index/>", "0.00", "flat", 0.0),
        ("<index></index>", "0.00", "flat", 0.0),
        ("<index>UP</index>", "+0.02", "up", 0.02),
        ("<index>DOWN</index>", "-2.77", "down", -2.77),
        ("<index>  down </index>", "-2.77", "down", -2.77),
        ("<index></index>", "+1.50", "up", 1.5),
        ("<index/>", "-1.50", "down", -1.5),
        ("<index></index>", "-0.00", "flat", 0.0),
    ],
)
def test_trend_from_index_or_sign(index: str, change: str, trend: str, value: float) -> None:
    (rate,) = parse(rates_doc(item("USD", "478.77", index=index, change=change)))
    assert rate.trend == trend
    assert rate.change == value


def test_negative_zero_change_is_plain_zero() -> None:
    (rate,) = parse(rates_doc(item("USD", "478.77", change="-0.00")))
    assert rate.change is not None
    assert math.copysign(1, rate.change) == 1
    (rate,) = parse(rates_doc(item("KRW", "31.29", quant="100", change="-0.00")))
    assert rate.change is not None
    assert math.copysign(1, rate.change) == 1


def test_missing_change_gives_no_trend() -> None:
    body = rates_doc("<item><title>USD</title><description>478.77</description><quant>1</quant></item>")
    (rate,) = parse(body)
    assert (rate.rate, rate.change, rate.trend) == (478.77, None, None)


@pytest.mark.parametrize(
    "bad",
    [
        item("EUR", "n/a"),
        item("EUR", "548.62", quant="0"),
        item("EUR", "-548.62"),
        item("EUR", "548.62", change="abc"),
        item("EUR", "Infinity"),
        item("EURO", "548.62"),
        item("", "548.62"),
        "<item><title>EUR</title></item>",
    ],
    ids=[
        "text",
        "zero-quant",
        "negative",
        "bad-change",
        "infinite",
        "long-code",
        "no-code",
        "no-description",
    ],
)
def test_a_malformed_item_is_skipped_others_survive(bad: str) -> None:
    body = rates_doc(item("USD", "478.77"), bad, item("RUB", "5.87"))
    assert by_code(parse(body)).keys() == {"USD", "RUB"}


@pytest.mark.parametrize("pub", [None, "", "2026-04-01"], ids=["no-pubdate", "empty", "iso"])
def test_a_rates_all_item_with_a_bad_pubdate_is_skipped_others_survive(pub: str | None) -> None:
    body = rss_doc(
        item("USD", "478.77", pub="01.04.2026"),
        item("EUR", "548.62", pub=pub),
        item("RUB", "5.87", pub="01.04.2026"),
    )
    assert by_code(parse(body)).keys() == {"USD", "RUB"}


@pytest.mark.parametrize(
    "body",
    [
        MAINTENANCE,
        b"<html><head><title>503</title></head><body>maintenance</body></html>",
        rates_doc(item("USD", "478.77"), root="ratez"),
        rates_doc(item("USD", "478.77"), day=None),
        rates_doc(item("USD", "478.77"), day=""),
        rates_doc(item("USD", "478.77"), day="2026-04-01"),
        rates_doc(),
        rates_doc(item("USD", "n/a")),
        rss_doc(),
        b'<?xml version="1.0"?><rss version="2.0"></rss>',
        GET_RATES[: len(GET_RATES) // 2],
        LEGACY[:-20],
        b"",
        b"   ",
        b"\xff\xfe\x00not xml",
        BOMB,
        XXE,
    ],
    ids=[
        "maintenance-html",
        "xhtml",
        "wrong-root",
        "no-date",
        "empty-date",
        "iso-date",
        "no-items",
        "no-usable-item",
        "rss-no-items",
        "rss-no-channel",
        "truncated",
        "truncated-rss",
        "empty",
        "blank",
        "binary",
        "billion-laughs",
        "external-entity",
    ],
)
def test_not_an_nbk_document_is_a_format_error(body: bytes) -> None:
    with pytest.raises(FormatError):
        parse(body)


@pytest.mark.parametrize("body", [BOMB, XXE], ids=["billion-laughs", "external-entity"])
def test_a_dtd_is_refused_before_any_entity_is_expanded(body: bytes) -> None:
    with pytest.raises(FormatError) as caught:
        parse(body)
    assert isinstance(caught.value.__cause__, DTDForbidden)


OVERFLOW = "1E+999999999"  # a finite Decimal whose division overflows the decimal context


@pytest.mark.parametrize(
    "body",
    [
        rates_doc(item("USD", OVERFLOW)),
        rates_doc(item("USD", "478.77", quant="1E-999999999")),
        rates_doc(item("USD", "478.77", change=OVERFLOW, quant="1E-999999999")),
        rates_doc(item("USD", "1" + "0" * 400)),  # KZT per unit beyond a float: inf
        b'<?xml version="1.0" encoding="x-nbk-unknown"?><rates><date>01.04.2026</date></rates>',
        b'<?xml version="1.0" encoding="utf-16"?><rates><date>01.04.2026</date></rates>',
        rates_doc(item("USD", "478.77")).replace(b"USD", b"\xff\xfeD"),
        "<?xml version='1.0' encoding='utf-8'?><rates><date>01.04.2026</date></rates>".encode("utf-32"),
        b"<rates>" * 100_000,
        rates_doc(item("USD", "478.77"), day="99.99.99999999999999999999"),
    ],
    ids=[
        "rate-exponent",
        "quant-exponent",
        "change-exponent",
        "400-digits",
        "unknown-encoding",
        "declared-utf16",
        "invalid-utf8",
        "utf32",
        "deep-nesting",
        "absurd-date",
    ],
)
def test_crafted_bodies_that_once_escaped_as_other_errors_are_format_errors(body: bytes) -> None:
    with pytest.raises(FormatError):
        parse(body)


def test_an_overflowing_item_costs_only_itself() -> None:
    body = rates_doc(item("USD", "478.77"), item("EUR", "548.62", quant="1E-999999999"))
    assert [(rate.currency, rate.rate) for rate in parse(body)] == [("USD", 478.77)]


# --- the fetch over loopback HTTP, from the one fake upstream (tests/fakes.py) -------------------

MORNING = datetime(2026, 4, 1, 5, 0, tzinfo=UTC)  # 10:00 in Astana
DAY = date(2026, 4, 1)
GET = "/rss/get_rates.cfm"
ALL = "/rss/rates_all.xml"


def nbk(upstream: Upstreams, max_bytes: int = 2_000_000) -> Nbk:
    config = Config(base_url=upstream.url, timeout=5, max_bytes=max_bytes)
    return Nbk(config, [], lambda: MORNING)  # the day asked decides, not the clock


def answer(upstream: Upstreams, path: str, what: bytes | str) -> None:
    """``path`` answers a crafted body (bytes, with 200) or one of the fake's FAULTS (str)."""
    if isinstance(what, bytes):
        upstream.fake.body[path] = what
    else:
        upstream.fake.fault[path] = what


def paths(upstream: Upstreams) -> list[str]:
    return [path for path, _ in upstream.fake.queries]


@pytest.mark.parametrize(
    ("now", "fdate"),
    [
        (datetime(2026, 4, 1, 20, 30, tzinfo=UTC), "02.04.2026"),  # 01:30 on the 2nd in Astana
        (datetime(2026, 4, 1, 18, 59, tzinfo=UTC), "01.04.2026"),  # 23:59 in Astana
        (datetime(2026, 4, 1, 19, 0, tzinfo=UTC), "02.04.2026"),  # midnight in Astana
        (datetime(2026, 12, 31, 19, 0, tzinfo=UTC), "01.01.2027"),
    ],
)
async def test_fetch_asks_get_rates_for_the_day_it_is_given(upstream: Upstreams, now: datetime, fdate: str) -> None:
    answer(upstream, GET, GET_RATES)
    answer(upstream, ALL, "500")
    async with aiohttp.ClientSession() as session:
        rates = by_code(list(await nbk(upstream).fetch(session, astana_date(now))))
    assert upstream.fake.queries == [(GET, {"fdate": fdate})]
    assert rates["USD"].rate == 478.77
    assert {(rate.date, rate.in_force) for rate in rates.values()} == {(date(2026, 4, 1), None)}  # the document's
    assert (Nbk.name, Nbk.kind) == ("nbk", "rates")


async def test_fetch_can_ask_for_tomorrow(upstream: Upstreams) -> None:
    answer(upstream, GET, GET_RATES.replace(b"<date>01.04.2026</date>", b"<date>02.04.2026</date>"))
    answer(upstream, ALL, "500")
    async with aiohttp.ClientSession() as session:
        rates = await nbk(upstream).fetch(session, date(2026, 4, 2))
    assert upstream.fake.queries == [(GET, {"fdate": "02.04.2026"})]
    assert {rate.valid_on for rate in rates} == {date(2026, 4, 2)}


async def test_the_rates_all_fallback_keeps_tomorrows_records_dated_tomorrow(upstream: Upstreams) -> None:
    evening = rss_doc(
        item("USD", "479.10", change="+0.33", index="<index>UP</index>", pub="02.04.2026"),
        item("EUR", "549.00", pub="02.04.2026"),
        item("LVL", "400.00", pub="31.12.2013"),
    )
    answer(upstream, GET, "404")
    answer(upstream, ALL, evening)
    async with aiohttp.ClientSession() as session:
        rates = by_code(list(await nbk(upstream).fetch(session, date(2026, 4, 1))))
    assert upstream.fake.queries == [(GET, {"fdate": "01.04.2026"}), (ALL, {})]
    assert rates.keys() == {"USD", "EUR"}
    assert (rates["USD"].rate, rates["USD"].change, rates["USD"].trend) == (479.10, 0.33, "up")
    assert {(rate.date, rate.in_force, rate.valid_on) for rate in rates.values()} == {
        (date(2026, 4, 2), None, date(2026, 4, 2))  # tomorrow's, never relabelled as the day asked
    }


@pytest.mark.parametrize(
    "get_rates",
    ["404", MAINTENANCE, b"<rates><title>x</title></rates>", "500", "429"],
    ids=["404", "html-200", "no-date", "500", "429-without-retry-after"],
)
async def test_fetch_falls_back_to_rates_all(upstream: Upstreams, get_rates: bytes | str) -> None:
    upstream.fake.retry_after = None
    answer(upstream, GET, get_rates)
    answer(upstream, ALL, LEGACY)
    async with aiohttp.ClientSession() as session:
        rates = by_code(list(await nbk(upstream).fetch(session, DAY)))
    assert upstream.fake.queries == [(GET, {"fdate": "01.04.2026"}), (ALL, {})]
    assert rates["USD"].rate == 334.41
    assert {rate.date for rate in rates.values()} == {date(2016, 4, 18)}


async def test_fetch_raises_the_first_error_when_both_fail(upstream: Upstreams) -> None:
    answer(upstream, GET, "404")
    answer(upstream, ALL, "503")
    async with aiohttp.ClientSession() as session:
        with pytest.raises(UpstreamStatusError) as caught:
            await nbk(upstream).fetch(session, DAY)
    assert caught.value.status == 404
    assert not caught.value.transient
    assert paths(upstream) == [GET, ALL]


async def test_fetch_raises_the_first_format_error_when_both_fail(upstream: Upstreams) -> None:
    answer(upstream, GET, MAINTENANCE)
    answer(upstream, ALL, "500")
    async with aiohttp.ClientSession() as session:
        with pytest.raises(FormatError):
            await nbk(upstream).fetch(session, DAY)
    assert paths(upstream) == [GET, ALL]


async def test_fetch_429_with_retry_after_is_raised_without_trying_rates_all(upstream: Upstreams) -> None:
    answer(upstream, GET, "429")  # Retry-After: 120
    answer(upstream, ALL, LEGACY)
    async with aiohttp.ClientSession() as session:
        with pytest.raises(UpstreamStatusError) as caught:
            await nbk(upstream).fetch(session, DAY)
    assert caught.value.status == 429
    assert caught.value.retry_after == 120.0
    assert caught.value.transient
    assert paths(upstream) == [GET]


@pytest.mark.parametrize("fault", ["overlong", "parked"], ids=["content-length", "chunked"])
async def test_fetch_over_the_cap_is_refused_without_reading_the_body(upstream: Upstreams, fault: str) -> None:
    """The fake sends headers and a first piece, then holds the rest until ``release``: only the declared length
    (overlong) or the first 4 KiB (parked) can tell, and waiting for the rest would end in the timeout instead."""
    answer(upstream, GET, fault)
    answer(upstream, ALL, "404")
    async with aiohttp.ClientSession() as session:
        with pytest.raises(ResponseTooLarge):
            await nbk(upstream, max_bytes=1024).fetch(session, DAY)
    assert not upstream.fake.release.is_set()  # refused while the server still held the rest back
    assert paths(upstream) == [GET, ALL]


async def test_fetch_over_the_cap_content_length_whole_body(upstream: Upstreams) -> None:
    answer(upstream, GET, GET_RATES)
    answer(upstream, ALL, "404")
    async with aiohttp.ClientSession() as session:
        with pytest.raises(ResponseTooLarge):
            await nbk(upstream, max_bytes=len(GET_RATES) - 1).fetch(session, DAY)


def test_config_defaults() -> None:
    config = Config()
    assert (config.base_url, config.interval, config.stale_seconds) == ("https://nationalbank.kz", 14400, 28800)


def test_the_constructor_refuses_another_providers_config() -> None:
    with pytest.raises(TypeError, match=r"providers\.nbk\.Config"):
        Nbk(CbrConfig(), [], lambda: MORNING)
