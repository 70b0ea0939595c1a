"""Corporate networks, end to end: a private CA (trustme) over https, and a real forward proxy on loopback.

The proxy tests aim the CLI at ``api.bulkdelete.test``, a name only the test proxy resolves (to the emulator): a
request that did not go through the proxy cannot arrive anywhere, and the proxy counts every tunnel it opened.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bulkdelete.emulator import EmulatorConfig, run_emulator
from bulkdelete.emulator.runner import Emulator
from tests.conftest import ORG, SOURCE, Completed, cli_env, coveo_args, run_cli
from tests.forward_proxy import ForwardProxy, Pki, make_pki, run_proxy

IDS = [f"https://site.example/doc/{n}" for n in range(30)]
STDIN = "\n".join(IDS).encode()
API_HOST = "api.bulkdelete.test"
PROXY_PASSWORD = "pr0xy-pa55word"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"), "127.0.0.1", "localhost", API_HOST)


@asynccontextmanager
async def https_emulator(pki: Pki) -> AsyncIterator[Emulator]:
    config = EmulatorConfig(tls_cert=str(pki.cert), tls_key=str(pki.key))
    async with run_emulator(config, docs=IDS) as emu:
        yield emu


def port_of(emu: Emulator) -> int:
    return int(emu.base_url.rsplit(":", 1)[1])


def assert_no_password(done: Completed) -> None:
    assert PROXY_PASSWORD not in done.stderr and PROXY_PASSWORD.encode() not in done.stdout


# -- TLS trust ----------------------------------------------------------------------------------------------------


async def test_untrusted_certificate_aborts_at_once_with_exit_3_naming_host_and_reason(pki: Pki) -> None:
    async with https_emulator(pki) as emu:
        done = await run_cli(*coveo_args(emu.base_url, "--rate", "0", "-"), stdin=STDIN, env=cli_env())
        seen = emu.stats()
    assert done.code == 3, done.stderr
    assert "certificate verify failed: unable to get local issuer certificate" in done.stderr
    assert f"127.0.0.1:{port_of(emu)}" in done.stderr and "--ca-bundle" in done.stderr
    assert "unreachable" not in done.stderr
    assert seen["requests"] == 0 and done.lines == []  # no request completed; every record left for --resume
    assert "retries 0" in done.stderr or "retries" not in done.stderr


async def test_ca_bundle_makes_the_private_ca_trusted(pki: Pki) -> None:
    async with https_emulator(pki) as emu:
        args = coveo_args(emu.base_url, "--rate", "0", "--ca-bundle", str(pki.ca), "-")
        done = await run_cli(*args, stdin=STDIN, env=cli_env())
        assert emu.documents == []
    assert done.code == 0, done.stderr
    assert len(done.lines) == len(IDS)


@pytest.mark.parametrize("variable", ["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"])
async def test_ca_file_from_the_environment_is_trusted(pki: Pki, variable: str) -> None:
    async with https_emulator(pki) as emu:
        done = await run_cli(
            *coveo_args(emu.base_url, "--rate", "0", "-"), stdin=STDIN, env=cli_env({variable: str(pki.ca)})
        )
    assert done.code == 0, done.stderr


async def test_coveo_status_with_an_untrusted_certificate_exits_3(pki: Pki) -> None:
    async with https_emulator(pki) as emu:
        args = ["coveo", "status", "REFRESH", "--base-url", emu.base_url, "--org", ORG, "--source", SOURCE]
        done = await run_cli(*args, env=cli_env())
        trusted = await run_cli(*args, "--ca-bundle", str(pki.ca), env=cli_env())
    assert done.code == 3, done.stderr
    assert "certificate verify failed" in done.stderr and "--ca-bundle" in done.stderr
    assert trusted.code == 0, trusted.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "no such file"), (b"not a certificate\n", "not a PEM file of CA certificates")],
)
async def test_a_bad_ca_bundle_is_a_usage_error(tmp_path: Path, content: bytes | None, message: str) -> None:
    bundle = tmp_path / "ca.pem"
    if content is not None:
        bundle.write_bytes(content)
    async with run_emulator(EmulatorConfig(), docs=IDS) as emu:
        done = await run_cli(*coveo_args(emu.base_url, "--ca-bundle", str(bundle), "-"), stdin=STDIN, env=cli_env())
        assert emu.stats()["requests"] == 0
    assert done.code == 2 and message in done.stderr


# -- proxies ------------------------------------------------------------------------------------------------------


def via_name(emu: Emulator) -> str:
    """The emulator's https URL under a name only the test proxy resolves."""
    return f"https://{API_HOST}:{port_of(emu)}"


@asynccontextmanager
async def proxied(pki: Pki, credentials: str | None = None) -> AsyncIterator[tuple[Emulator, ForwardProxy]]:
    async with https_emulator(pki) as emu, run_proxy({API_HOST: "127.0.0.1"}, credentials) as proxy:
        yield emu, proxy


@pytest.mark.parametrize("variable", ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "--proxy"])
async def test_every_connection_goes_through_the_proxy(pki: Pki, variable: str) -> None:
    async with proxied(pki) as (emu, proxy):
        args = coveo_args(via_name(emu), "--rate", "0", "--concurrency", "4", "--ca-bundle", str(pki.ca))
        if variable == "--proxy":
            env = cli_env({"HTTPS_PROXY": "http://127.0.0.1:9"})  # the flag wins over the environment
            args += ["--proxy", proxy.url]
        else:
            env = cli_env({variable: proxy.url})
        done = await run_cli(*args, "-", stdin=STDIN, env=env)
        assert emu.documents == []
        seen = emu.stats()
    assert done.code == 0, done.stderr
    assert seen["requests"] == len(IDS)
    # Every connection was a CONNECT tunnel through the proxy, to the name only the proxy could resolve.
    assert 1 <= len(proxy.log.tunnels) <= 4
    assert set(proxy.log.tunnels) == {f"{API_HOST}:{port_of(emu)}"}


async def test_plain_http_requests_are_forwarded_by_the_proxy() -> None:
    async with run_emulator(EmulatorConfig(), docs=IDS) as emu, run_proxy() as proxy:
        env = cli_env({"HTTP_PROXY": proxy.url, "HTTPS_PROXY": "http://127.0.0.1:9"})
        done = await run_cli(*coveo_args(emu.base_url, "--rate", "0", "-"), stdin=STDIN, env=env)
        seen = emu.stats()
    assert done.code == 0, done.stderr
    assert len(proxy.log.forwarded) == seen["requests"] == len(IDS)
    assert all(url.startswith(emu.base_url + "/push/v1/") for url in proxy.log.forwarded)


@pytest.mark.parametrize("no_proxy", ["127.0.0.1", "127.0.0.0/8", "localhost, 127.0.0.1:{port}", "*", ".0.0.1"])
async def test_no_proxy_reaches_the_api_directly(pki: Pki, no_proxy: str) -> None:
    async with https_emulator(pki) as emu, run_proxy() as proxy:
        env = cli_env({"HTTPS_PROXY": proxy.url, "NO_PROXY": no_proxy.format(port=port_of(emu))})
        args = coveo_args(emu.base_url, "--rate", "0", "--ca-bundle", str(pki.ca), "-")
        done = await run_cli(*args, stdin=STDIN, env=env)
        direct = proxy.log.connections
        control = await run_cli(*args, stdin=STDIN, env=cli_env({"HTTPS_PROXY": proxy.url}))
    assert done.code == 0 and control.code == 0, done.stderr + control.stderr
    if no_proxy == ".0.0.1":  # a domain suffix never matches an IP address (as curl): the proxy is used
        assert direct >= 1
        return
    # The same command without NO_PROXY (loopback is not bypassed by default) went through the proxy.
    assert direct == 0 and proxy.log.connections >= 1 and len(proxy.log.tunnels) == proxy.log.connections


async def test_an_empty_proxy_flag_connects_directly_whatever_the_environment(pki: Pki) -> None:
    async with https_emulator(pki) as emu:
        env = cli_env({"HTTPS_PROXY": "http://127.0.0.1:9", "ALL_PROXY": "http://127.0.0.1:9"})
        args = coveo_args(emu.base_url, "--rate", "0", "--ca-bundle", str(pki.ca), "--proxy", "", "-")
        done = await run_cli(*args, stdin=STDIN, env=env)
    assert done.code == 0, done.stderr


async def test_proxy_credentials_work_and_never_print(pki: Pki) -> None:
    async with proxied(pki, credentials=f"alice:{PROXY_PASSWORD}") as (emu, proxy):
        url = f"http://alice:{PROXY_PASSWORD}@{proxy.url.removeprefix('http://')}"
        args = coveo_args(via_name(emu), "--rate", "0", "--ca-bundle", str(pki.ca), "-")
        done = await run_cli(*args, stdin=STDIN, env=cli_env({"HTTPS_PROXY": url}))
        assert emu.documents == []
    assert done.code == 0, done.stderr
    assert proxy.log.refused == 0 and len(proxy.log.tunnels) >= 1
    assert_no_password(done)


@pytest.mark.parametrize("scheme", ["https", "http"])
async def test_wrong_proxy_credentials_stop_the_run_with_exit_3(pki: Pki, scheme: str) -> None:
    async with proxied(pki, credentials="alice:right-password") as (emu, proxy):
        wrong = f"http://alice:{PROXY_PASSWORD}@{proxy.url.removeprefix('http://')}"
        if scheme == "https":
            args = coveo_args(via_name(emu), "--rate", "0", "--ca-bundle", str(pki.ca), "-")
        else:
            args = coveo_args(f"http://127.0.0.1:{port_of(emu)}", "--rate", "0", "-")
        done = await run_cli(*args, stdin=STDIN, env=cli_env({"HTTPS_PROXY": wrong, "HTTP_PROXY": wrong}))
        seen = emu.stats()
    assert done.code == 3, done.stderr
    assert "407" in done.stderr and proxy.url in done.stderr
    assert seen["requests"] == 0 and proxy.log.refused >= 1
    assert_no_password(done)


async def test_an_unreachable_proxy_is_named_without_its_credentials(pki: Pki) -> None:
    async with https_emulator(pki) as emu:
        env = cli_env({"HTTPS_PROXY": f"http://alice:{PROXY_PASSWORD}@127.0.0.1:9"})
        args = coveo_args(emu.base_url, "--rate", "0", "--ca-bundle", str(pki.ca), "--max-attempts", "1", "-")
        done = await run_cli(*args, stdin=STDIN, env=env)
    assert done.code in (1, 3), done.stderr
    assert "cannot connect to the proxy http://127.0.0.1:9 (from HTTPS_PROXY)" in done.stderr + done.stdout.decode()
    assert_no_password(done)


@pytest.mark.parametrize("value", ["socks5://127.0.0.1:1080", "ftp://proxy:21"])
async def test_an_unsupported_proxy_is_a_usage_error(value: str) -> None:
    args = coveo_args("https://api.cloud.coveo.com", "-")
    done = await run_cli(*args, stdin=STDIN, env=cli_env({"ALL_PROXY": value}))
    assert done.code == 2 and "ALL_PROXY" in done.stderr and "not supported" in done.stderr


async def test_batch_mode_uploads_go_through_the_proxy_too(pki: Pki) -> None:
    """The file container's upload URI names the API host: only the proxy can resolve it."""
    async with proxied(pki) as (emu, proxy):
        args = coveo_args(via_name(emu), "--mode", "batch", "--rate", "0", "--ca-bundle", str(pki.ca), "-")
        done = await run_cli(*args, stdin=STDIN, env=cli_env({"HTTPS_PROXY": proxy.url}))
        assert emu.documents == []
    assert done.code == 0, done.stderr
    assert all(line["outcome"] == "batched" for line in done.lines) and len(done.lines) == len(IDS)
    assert set(proxy.log.tunnels) == {f"{API_HOST}:{port_of(emu)}"}


async def test_a_status_call_that_gets_no_answer_stops_the_run_with_exit_3(pki: Pki) -> None:
    async with https_emulator(pki) as emu:
        env = cli_env({"HTTPS_PROXY": "http://127.0.0.1:9"})
        args = coveo_args(emu.base_url, "--status", "REFRESH", "--ca-bundle", str(pki.ca), "-")
        done = await run_cli(*args, stdin=STDIN, env=env)
        assert emu.stats()["requests"] == 0
    assert done.code == 3, done.stderr
    assert "setting the source status got no answer: cannot connect to the proxy http://127.0.0.1:9" in done.stderr
    assert "internal error" not in done.stderr


async def test_quiet_still_says_why_an_untrusted_certificate_stopped_the_run(pki: Pki) -> None:
    async with https_emulator(pki) as emu:
        done = await run_cli(*coveo_args(emu.base_url, "-q", "-"), stdin=STDIN, env=cli_env())
    assert done.code == 3
    assert done.stderr.startswith("bulkdelete: error: the TLS certificate of 127.0.0.1:")
    assert "certificate verify failed: unable to get local issuer certificate" in done.stderr
