"""The proxy and trust rules as pure functions: which variable wins, what NO_PROXY matches, what extra CAs add."""

from __future__ import annotations

from pathlib import Path

import pytest
import trustme
from yarl import URL

from bulkdelete.errors import ConfigError
from bulkdelete.net.proxy import proxy_routes
from bulkdelete.net.tls import client_context


def proxy_url(env: dict[str, str], url: str, option: str | None = None) -> str | None:
    proxy = proxy_routes(option, env).for_url(URL(url))
    return None if proxy is None else str(proxy.url)


@pytest.mark.parametrize(
    ("env", "url", "expected"),
    [
        ({"HTTPS_PROXY": "http://p:1"}, "https://api.x.com/a", "http://p:1"),
        ({"HTTPS_PROXY": "http://p:1"}, "http://127.0.0.1:8/a", None),  # https_proxy is for https URLs only
        ({"HTTP_PROXY": "http://p:2"}, "http://127.0.0.1:8/a", "http://p:2"),
        ({"ALL_PROXY": "http://p:3"}, "https://api.x.com/a", "http://p:3"),
        ({"ALL_PROXY": "http://p:3", "HTTPS_PROXY": "http://p:1"}, "https://api.x.com/a", "http://p:1"),
        ({"https_proxy": "http://lower:1", "HTTPS_PROXY": "http://upper:1"}, "https://x.com", "http://lower:1"),
        ({"https_proxy": "", "HTTPS_PROXY": "http://upper:1"}, "https://x.com", "http://upper:1"),  # empty: unset
        ({"HTTPS_PROXY": "proxy.corp:3128"}, "https://x.com", "http://proxy.corp:3128"),  # no scheme: http
        ({}, "https://x.com", None),
    ],
)
def test_which_variable_gives_the_proxy(env: dict[str, str], url: str, expected: str | None) -> None:
    assert proxy_url(env, url) == expected


@pytest.mark.parametrize(
    ("no_proxy", "url", "bypassed"),
    [
        ("example.com", "https://example.com/a", True),
        ("example.com", "https://api.example.com/a", True),
        (".example.com", "https://api.example.com/a", True),
        ("*.example.com", "https://api.example.com/a", True),
        ("example.com", "https://notexample.com/a", False),
        ("EXAMPLE.com", "https://Example.COM/a", True),
        ("10.0.0.0/8", "https://10.2.3.4/a", True),
        ("10.0.0.0/8", "https://11.2.3.4/a", False),
        ("::1", "https://[::1]:8443/a", True),
        ("[::1]:8443", "https://[::1]:8443/a", True),
        ("[::1]:8443", "https://[::1]:9443/a", False),
        ("example.com:8443", "https://example.com:8443/a", True),
        ("example.com:8443", "https://example.com/a", False),
        ("a.com b.com", "https://b.com/a", True),  # spaces separate entries too
        ("*", "https://anything/a", True),
        ("localhost", "https://127.0.0.1/a", False),  # names are not resolved: list the address too
    ],
)
def test_what_no_proxy_matches(no_proxy: str, url: str, bypassed: bool) -> None:
    env = {"HTTPS_PROXY": "http://p:1", "NO_PROXY": no_proxy}
    assert (proxy_url(env, url) is None) == bypassed
    assert (proxy_url({**env}, url, option="http://flag:1") is None) == bypassed  # NO_PROXY applies to --proxy too


def test_credentials_move_to_a_header_and_out_of_every_text() -> None:
    routes = proxy_routes("http://alice:s3cret-pw@proxy:3128", {})
    proxy = routes.for_url(URL("https://x.com"))
    assert proxy is not None
    assert "s3cret-pw" not in str(proxy) and "alice" not in str(proxy)
    assert proxy.headers == {"Proxy-Authorization": "Basic YWxpY2U6czNjcmV0LXB3"}
    assert [s.reveal() for s in routes.secrets] == ["s3cret-pw"]
    with pytest.raises(ConfigError) as caught:
        proxy_routes("socks5://alice:s3cret-pw@proxy:1080", {})
    assert "s3cret-pw" not in str(caught.value)


def test_an_empty_proxy_option_overrides_the_environment() -> None:
    assert proxy_url({"HTTPS_PROXY": "http://p:1", "ALL_PROXY": "http://p:2"}, "https://x.com", option="") is None


def test_extra_ca_files_add_to_the_system_store(tmp_path: Path) -> None:
    ca = trustme.CA()
    pem = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(pem))
    base = client_context(None, {}).cert_store_stats()["x509_ca"]
    both = client_context(str(pem), {"SSL_CERT_FILE": str(pem)}).cert_store_stats()["x509_ca"]
    assert both == base + 1  # added once (the same file twice is loaded once), the system CAs kept
