"""The shared TLS context: built once, and httpx's default one (certificates checked)."""

from __future__ import annotations

import ssl

import httpx

from edip_pipeline.http import HttpClient, ssl_context


def test_the_tls_context_is_built_once_and_verifies_like_httpx_default() -> None:
    ctx = ssl_context()
    assert ctx is ssl_context()
    default = httpx.create_ssl_context()
    assert ctx.verify_mode == default.verify_mode == ssl.CERT_REQUIRED
    assert ctx.check_hostname is default.check_hostname is True
    assert ctx.cert_store_stats() == default.cert_store_stats()
    assert ctx.cert_store_stats()["x509_ca"] > 0  # the CA bundle is loaded


def test_the_connectors_client_uses_it() -> None:
    with HttpClient() as client:
        pool = client._client._transport._pool  # type: ignore[attr-defined]
        assert pool._ssl_context is ssl_context()
