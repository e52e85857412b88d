"""The CAs a run trusts: ekstrio writes httpx2's default context out (importing httpx2's
would import httpcore2 and anyio at every start), so httpx2 is the oracle here."""

from __future__ import annotations

import ssl
import sys
from pathlib import Path
from typing import Any

import httpx2
import pytest
import trustme

from ekstrio.aws.http_client import ssl_context
from ekstrio.errors import ConfigError


def _facts(context: ssl.SSLContext) -> dict[str, Any]:
    return {
        "ca_certs": context.get_ca_certs(),
        "store": context.cert_store_stats(),
        "verify_mode": context.verify_mode,
        "check_hostname": context.check_hostname,
        "verify_flags": context.verify_flags,
        "options": context.options,
        "protocol": context.protocol,
        "versions": (context.minimum_version, context.maximum_version),
    }


@pytest.fixture
def ca_file(tmp_path: Path) -> Path:
    path = tmp_path / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(path))
    return path


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="httpx2 itself is used there")
@pytest.mark.parametrize("case", ["SSL_CERT_FILE", "SSL_CERT_DIR", "both", "system store"])
def test_the_default_context_is_httpx2s(case: str, ca_file: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR"):
        monkeypatch.delenv(name, raising=False)
    if case in ("SSL_CERT_FILE", "both"):
        monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    if case in ("SSL_CERT_DIR", "both"):
        monkeypatch.setenv("SSL_CERT_DIR", str(ca_file.parent))
    ours = _facts(ssl_context())
    assert ours == _facts(httpx2.create_ssl_context(verify=True, trust_env=True))
    if case in ("SSL_CERT_FILE", "both"):
        assert len(ours["ca_certs"]) == 1  # that file alone, not the system store too


def test_an_aws_ca_bundle_comes_first_and_a_bad_one_is_named(
        ca_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    monkeypatch.setenv("AWS_CA_BUNDLE", str(tmp_path / "missing.pem"))
    with pytest.raises(ConfigError, match=r"missing\.pem"):
        ssl_context()
    assert len(ssl_context(str(ca_file)).get_ca_certs()) == 1


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="httpx2 itself is used there")
def test_an_unreadable_ssl_cert_file_is_one_line_naming_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_CA_BUNDLE", raising=False)
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "gone.pem"))
    with pytest.raises(ConfigError, match=r"gone\.pem.*\(SSL_CERT_FILE\)"):
        ssl_context()


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="httpx2 itself is used there")
def test_a_direct_client_does_not_import_httpx2s_own_transport() -> None:
    # httpcore2 (httpx2's pool) and anyio cost 0.1-0.2 s of CPU to import; without a proxy
    # the lean transport does all the work, so no run should pay for them.
    import os
    import subprocess

    probe = ("import sys\nfrom ekstrio.aws.http_client import make_http_client\n"
             "make_http_client()\nprint(sorted(m for m in ('httpcore2', 'anyio') "
             "if m in sys.modules))\n")
    env = {k: v for k, v in os.environ.items() if k.upper() not in {
        "AWS_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR", "HTTP_PROXY", "HTTPS_PROXY",
        "ALL_PROXY", "NO_PROXY"}}
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True,
                          text=True, check=True, timeout=60)
    assert done.stdout.strip() == "[]", done.stdout
