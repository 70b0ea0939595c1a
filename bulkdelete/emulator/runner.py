"""Run the emulator inside the current event loop: ``async with run_emulator(config, docs=[...]) as emu``."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bulkdelete.emulator.app import build_app
from bulkdelete.emulator.config import EmulatorConfig
from bulkdelete.emulator.state import EmulatorState
from bulkdelete.emulator.store import Doc


@dataclass(frozen=True, slots=True)
class Emulator:
    """A running emulator. ``state`` is live: tests may read (and seed) it directly."""

    base_url: str
    state: EmulatorState
    app: web.Application

    def stats(self) -> dict[str, Any]:
        """The same document as ``GET /_emulator/stats``."""
        return self.state.snapshot()

    def advance(self, seconds: float) -> None:
        """Move the emulator's clocks ``seconds`` forward: pending deletes come due, cached searches age."""
        self.state.advance(seconds)

    def coveo_url(self, org: str) -> str:
        """``{base_url}/push/v1/organizations/{org}``."""
        return f"{self.base_url}/push/v1/organizations/{org}"

    @property
    def documents(self) -> list[str]:
        """Remaining document ids, sorted (deletes due by now applied first)."""
        self.state.settle()
        return self.state.documents.ids()


@asynccontextmanager
async def run_emulator(config: EmulatorConfig | None = None, docs: Iterable[Doc] = ()) -> AsyncIterator[Emulator]:
    """Serve on ``config.host:config.port`` (port 0: a free one, read back) until the block exits."""
    config = config or EmulatorConfig()
    state = EmulatorState.create(config, docs)
    app = build_app(state)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=2.0)
    await runner.setup()
    try:
        # A deep backlog: at the default 128, a burst of connections loses SYNs and stalls 1 s on retransmit.
        tls = server_context(config.tls_cert, config.tls_key) if config.tls_cert and config.tls_key else None
        site = web.TCPSite(runner, config.host, config.port, backlog=4096, ssl_context=tls)
        await site.start()
        host, port = runner.addresses[0][:2]
        netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        yield Emulator(base_url=f"{'https' if tls else 'http'}://{netloc}", state=state, app=app)
    finally:
        await runner.cleanup()


def server_context(cert: str, key: str) -> ssl.SSLContext:
    """The emulator's https side: ``cert`` is the PEM chain (leaf first), ``key`` its private key."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context
