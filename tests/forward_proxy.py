"""A real forward proxy on 127.0.0.1 for the tests: ``CONNECT`` tunnels and absolute-form plain-http requests.

It counts what went through it (tunnels opened, requests forwarded, the targets named), can require
``Proxy-Authorization`` (answering 407 without it), and can map host names (or ``host:port``) to addresses, so a test
can aim the client at a name that only the proxy can resolve: a request that did not go through the proxy cannot
arrive anywhere, and nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import trustme
from yarl import URL


@dataclass(frozen=True)
class Pki:
    """A throwaway CA (``ca``) and a server certificate chain and key it signed, as PEM files."""

    ca: Path
    cert: Path
    key: Path


def make_pki(folder: Path, *names: str) -> Pki:
    """A trustme CA and a certificate for ``names``, written under ``folder``."""
    ca = trustme.CA()
    server = ca.issue_cert(*names)
    paths = Pki(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    ca.cert_pem.write_to_path(str(paths.ca))
    server.private_key_pem.write_to_path(str(paths.key))
    for blob in server.cert_chain_pems:
        blob.write_to_path(str(paths.cert), append=True)
    return paths


@dataclass
class ProxyLog:
    """What the proxy did: ``tunnels`` (CONNECT targets), ``forwarded`` (absolute-form request URLs), ``refused``."""

    tunnels: list[str] = field(default_factory=list)
    forwarded: list[str] = field(default_factory=list)
    refused: int = 0
    connections: int = 0


@dataclass
class ForwardProxy:
    hosts: Mapping[str, str]
    credentials: str | None
    log: ProxyLog = field(default_factory=ProxyLog)
    url: str = ""
    open_writers: set[asyncio.StreamWriter] = field(default_factory=set)

    def _resolve(self, host: str) -> str:
        return self.hosts.get(host, host)

    def _authorized(self, head: list[bytes]) -> bool:
        if self.credentials is None:
            return True
        wanted = b"proxy-authorization: basic " + base64.b64encode(self.credentials.encode())
        return any(line.lower() == wanted.lower() for line in head[1:])

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.log.connections += 1
        upstream: asyncio.StreamWriter | None = None
        self.open_writers.add(writer)
        try:
            while True:
                head = await _read_head(reader)
                if head is None:
                    return
                method, target, _ = head[0].decode("latin-1").split(" ", 2)
                if not self._authorized(head):
                    self.log.refused += 1
                    writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
                    await writer.drain()
                    continue
                if method == "CONNECT":
                    await self._tunnel(target, reader, writer)
                    return
                upstream = await self._forward(method, target, head, reader, writer, upstream)
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            if upstream is not None:
                upstream.close()
            writer.close()
            self.open_writers.discard(writer)

    async def _tunnel(self, target: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.log.tunnels.append(target)
        host, _, port = self.hosts.get(target, target).rpartition(":")  # "host:port" may map to "ip:port"
        up_reader, up_writer = await asyncio.open_connection(self._resolve(host.strip("[]")), int(port))
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    async def _forward(
        self,
        method: str,
        target: str,
        head: list[bytes],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        upstream: asyncio.StreamWriter | None,
    ) -> asyncio.StreamWriter:
        """One absolute-form request, sent in origin form to its server; the answer relayed back."""
        url = URL(target)
        self.log.forwarded.append(target)
        body = await reader.readexactly(_content_length(head))
        up_reader, up_writer = await asyncio.open_connection(self._resolve(url.host or ""), url.port)
        if upstream is not None:
            upstream.close()
        lines = [f"{method} {url.raw_path_qs} HTTP/1.1".encode()]
        lines += [h for h in head[1:] if not h.lower().startswith((b"proxy-", b"connection:"))]
        up_writer.write(b"\r\n".join([*lines, b"Connection: close", b"", b""]) + body)
        await up_writer.drain()
        answer = await _read_head(up_reader)
        assert answer is not None
        answer_body = await up_reader.readexactly(_content_length(answer))
        kept = [h for h in answer if not h.lower().startswith(b"connection:")]
        writer.write(b"\r\n".join([*kept, b"", b""]) + answer_body)
        await writer.drain()
        return up_writer


async def _read_head(reader: asyncio.StreamReader) -> list[bytes] | None:
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    return raw[:-4].split(b"\r\n")


def _content_length(head: list[bytes]) -> int:
    for line in head[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


@contextlib.asynccontextmanager
async def run_proxy(
    hosts: Mapping[str, str] | None = None, credentials: str | None = None
) -> AsyncIterator[ForwardProxy]:
    """Serve a forward proxy on 127.0.0.1 (a free port) until the block exits; ``credentials``: ``user:password``."""
    proxy = ForwardProxy(dict(hosts or {}), credentials)
    server = await asyncio.start_server(proxy.handle, "127.0.0.1", 0)
    host, port = server.sockets[0].getsockname()[:2]
    proxy.url = f"http://{host}:{port}"
    async with server:
        try:
            yield proxy
        finally:
            server.close()
            for writer in list(proxy.open_writers):  # ends the tunnels still piping
                writer.close()
            await asyncio.sleep(0)
