"""Certificates for the TLS tests, made with the ``openssl`` command: a private CA, a server certificate for
127.0.0.1 and localhost, a client certificate (mutual TLS), and an unrelated CA that must be refused."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def openssl() -> str | None:
    return shutil.which("openssl")


def _run(*args: str, cwd: Path) -> None:
    done = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def _ca(name: str, cwd: Path) -> None:
    _run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name}",
         "-keyout", f"{name}.key", "-out", f"{name}.crt", cwd=cwd)  # fmt: skip


def _signed(name: str, ca: str, extensions: str, cwd: Path) -> None:
    (cwd / f"{name}.ext").write_text(extensions)
    _run("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
         "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=cwd)  # fmt: skip
    _run("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key", "-CAcreateserial",
         "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.crt", cwd=cwd)  # fmt: skip


def make_certificates(directory: Path) -> Path:
    """ca.crt/key, server.crt/key (127.0.0.1, localhost), client.crt/key, and other-ca.crt (not the signer)."""
    directory.mkdir(parents=True, exist_ok=True)
    _ca("ca", directory)
    _ca("other-ca", directory)
    _signed("server", "ca", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n",
            directory)  # fmt: skip
    _signed("client", "ca", "extendedKeyUsage=clientAuth\n", directory)
    return directory
