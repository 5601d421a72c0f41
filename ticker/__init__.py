"""ticker: official KZT rates and city temperatures as an embeddable header strip."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ticker")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
