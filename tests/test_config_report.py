"""``ticker config``: every setting with its value and its source, secrets masked; exit 2 naming a bad variable."""

from __future__ import annotations

import re

import pytest
from pydantic import BaseModel, Field, SecretStr

from providers import REGISTRY
from ticker.redis_url import mask_url_passwords
from ticker.run.cli import main
from ticker.run.config_report import lines
from ticker.settings import Settings


def report(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[dict[str, tuple[str, str]], str]:
    """variable -> (value, source) from stdout, and stderr."""
    assert main(["config", *argv]) == 0
    out, err = capsys.readouterr()
    header, *rows = out.splitlines()
    assert header.startswith("# ticker ")
    table = {}
    for row in rows:
        found = re.fullmatch(r"(TICKER_[A-Z0-9_]+) +(.*)  \[(.+)\]", row)
        assert found, row
        table[found[1]] = (found[2], found[3])
    return table, err


def test_every_setting_is_listed_with_its_default(capsys: pytest.CaptureFixture[str]) -> None:
    table, err = report(capsys)
    for name in REGISTRY:  # each provider's section, one line per field
        for key in ("BASE_URL", "INTERVAL", "STALE_AFTER", "TIMEOUT", "MAX_BYTES"):
            assert f"TICKER_{name.upper()}__{key}" in table
    assert table["TICKER_PORT"] == ("8080", "default")
    assert table["TICKER_RATE_SOURCES"] == ('["nbk", "cbr"]', "default")
    assert table["TICKER_CROSS_CHECK__TOLERANCE"] == ("0.05", "default")
    assert table["TICKER_NBK__BASE_URL"] == ("https://nationalbank.kz", "default")
    assert table["TICKER_OPEN_METEO__API_KEY"] == ("(unset)", "default")
    assert table["TICKER_REDIS_URL"] == ("(unset)", "default")
    assert "TICKER_CITIES" in table and "TICKER_LOG_LEVEL" in table
    assert "TICKER_NBK" not in table  # a section is its fields, not one line
    assert "TICKER_MET_NO__USER_AGENT is the shared placeholder" in err  # the start-up warnings, as serve gives them


def test_sources_environment_and_command_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TICKER_NBK__INTERVAL", "600")
    monkeypatch.setenv("TICKER_CURRENCIES", "usd,eur")
    monkeypatch.setenv("TICKER_CBR", '{"timeout": 5}')  # a whole section as JSON
    monkeypatch.setenv("TICKER_PORT", "9000")
    monkeypatch.setenv("TICKER_MET_NO__USER_AGENT", "news-kz/1.0 ops@news.example.kz")
    table, err = report(capsys, "--port", "9100")
    assert table["TICKER_NBK__INTERVAL"] == ("600.0", "TICKER_NBK__INTERVAL")
    assert table["TICKER_CURRENCIES"] == ('["USD", "EUR"]', "TICKER_CURRENCIES")
    assert table["TICKER_CBR__TIMEOUT"] == ("5.0", "TICKER_CBR")
    assert table["TICKER_CBR__INTERVAL"][1] == "default"
    assert table["TICKER_PORT"] == ("9100", "command line (--port)")  # the command line wins over TICKER_PORT
    assert table["TICKER_MET_NO__USER_AGENT"] == ("news-kz/1.0 ops@news.example.kz", "TICKER_MET_NO__USER_AGENT")
    assert err == ""  # an own User-Agent: nothing to warn about


def test_secrets_are_masked(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TICKER_REDIS_URL", "redis://user:s3cr3t-pw@redis.example.kz:6379/0")
    monkeypatch.setenv("TICKER_OPEN_METEO__API_KEY", "key-0123456789")
    table, _ = report(capsys)
    assert table["TICKER_REDIS_URL"] == ("redis://user:***@redis.example.kz:6379/0", "TICKER_REDIS_URL")
    assert table["TICKER_OPEN_METEO__API_KEY"] == ("***", "TICKER_OPEN_METEO__API_KEY")
    assert not [row for row in table.values() if "s3cr3t" in row[0] or "0123456789" in row[0]]


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("redis://:pw@host:6379/0", "redis://:***@host:6379/0"),
        ("rediss+sentinel://app:pw@h1:26379,h2:26379/main", "rediss+sentinel://app:***@h1:26379,h2:26379/main"),
        ("redis://host:6379/0", "redis://host:6379/0"),
        ("unix:///run/redis.sock", "unix:///run/redis.sock"),
        # redis-py reads the password up to the last "@" (so does ticker's Sentinel parser): all of it is masked
        ("redis://u:p@ss@host:6379/0", "redis://u:***@host:6379/0"),
        ("redis+sentinel://:p@ss@h1:26379,h2:26379/m", "redis+sentinel://:***@h1:26379,h2:26379/m"),
        # redis-py's query form, the only one a unix socket has
        ("unix:///run/redis.sock?db=1&password=pw&x=1", "unix:///run/redis.sock?db=1&password=***&x=1"),
        ("redis://host:6379/0?password=pw", "redis://host:6379/0?password=***"),
    ],
)
def test_url_passwords(url: str, masked: str) -> None:
    assert mask_url_passwords(url) == masked


def test_the_list_follows_the_model_so_new_sections_and_secrets_appear() -> None:
    """A section another change adds (say ``history``) is listed with no change here; a SecretStr or a field
    marked secret is masked whatever its name."""

    class History(BaseModel):
        days: int = 365
        signing: SecretStr = SecretStr("abc")
        salt: str = Field(default="pepper", json_schema_extra={"secret": True})

    class Wider(Settings):
        history: History = Field(default_factory=History)

    found = {line.variable: (line.value, line.source) for line in lines(Wider(), {})}
    assert found["TICKER_HISTORY__DAYS"] == ("365", "default")
    assert found["TICKER_HISTORY__SIGNING"] == ("***", "default")
    assert found["TICKER_HISTORY__SALT"] == ("***", "default")


def test_unknown_variables_are_warnings_and_the_exit_is_still_0(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TICKER_NBK_INTERVAL", "60")  # one underscore: configures nothing
    _, err = report(capsys)
    assert "ticker: warning: TICKER_NBK_INTERVAL is not a ticker setting and is ignored" in err.splitlines()


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("TICKER_NBK__INTERVAL", "0", "TICKER_NBK__INTERVAL: Value error, must be at least 1 second"),
        ("TICKER_PORT", "eighty", "TICKER_PORT: Input should be a valid integer"),
        ("TICKER_CITIES", "astana", "TICKER_CITIES: not valid JSON"),
        ("TICKER_REDIS_URL", "http://user:hunter2@host/0", "TICKER_REDIS_URL: "),
        ("TICKER_REDIS_URL", "http://user:hun@hunter2@host/0", "TICKER_REDIS_URL: "),
        ("TICKER_REDIS_URL", "http://host/0?password=hunter2", "TICKER_REDIS_URL: "),
    ],
)
def test_a_bad_value_exits_2_naming_the_variable(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, name: str, value: str, said: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as exited:
        main(["config"])
    assert exited.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""  # nothing that looks like a valid configuration
    assert said in err
    assert "hunter2" not in err


def test_stale_after_says_what_it_means(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """An operator who shortens the interval sees how long a reading then stays current: its source's own slot
    (Open-Meteo 900 s) plus the grace, 2 x 60 s; and that rates do not use it at all."""
    monkeypatch.setenv("TICKER_OPEN_METEO__INTERVAL", "60")
    monkeypatch.setenv("TICKER_MET_NO__STALE_AFTER", "5400")
    table, _ = report(capsys)
    assert table["TICKER_OPEN_METEO__STALE_AFTER"][0] == (
        "(unset: 120, 2 x interval); a reading is current for its 900 s slot + 120 s = 1020 s"
    )
    assert table["TICKER_MET_NO__STALE_AFTER"] == (
        "5400; a reading is current for its 3600 s slot + 5400 s = 9000 s",
        "TICKER_MET_NO__STALE_AFTER",
    )
    assert table["TICKER_NBK__STALE_AFTER"][0].endswith("not used: rates are current on the date they are in force")
