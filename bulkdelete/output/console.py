"""Everything for people goes to stderr through here (SPEC §3 ``--log-format``).

``text`` (the default) writes ``bulkdelete: <message>``, ``bulkdelete: warning: <message>``,
``bulkdelete: error: <message>``, logfmt progress lines (``bulkdelete: progress done=1200/5000 ok=1190 …``) and the
human summary. ``json`` writes every line as one JSON object with an ``event`` key (``info``, ``warning``, ``error``,
``progress``, ``summary``) and ``ts`` (UTC ISO 8601, milliseconds, ``Z``), so a log collector parses every line.

Use the module functions (``console.info(...)``, ``console.error(...)``) from the CLI: they write through the default
console, which ``configure`` sets up once the options are known. A run handed its own stream (``run_deletion(...,
stderr=...)``) builds its own ``Console``. Every message is scrubbed of the secrets the console knows.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any, Literal

import orjson

from bulkdelete.secrets import Secret, scrub

LogFormat = Literal["text", "json"]
LOG_FORMATS: tuple[LogFormat, ...] = ("text", "json")
Event = Literal["info", "warning", "error"]


@dataclass(frozen=True, slots=True)
class ProgressLine:
    """One progress report. ``total`` and ``eta_s`` are None when unknown; ``target`` None means unlimited."""

    done: int
    total: int | None
    ok: int
    not_ok: int
    rate: float
    target: float | None
    throttled: int
    paused_s: float
    eta_s: float | None

    def logfmt(self) -> str:
        """``done=1200/5000 ok=1190 not_ok=10 rate=98.7/s target=100/s throttled=0 paused=0.0s eta=38s``."""
        done = f"{self.done}/{self.total}" if self.total is not None else str(self.done)
        target = "unlimited" if self.target is None else f"{self.target:g}/s"
        text = (
            f"done={done} ok={self.ok} not_ok={self.not_ok} rate={self.rate:.1f}/s target={target} "
            f"throttled={self.throttled} paused={self.paused_s:.1f}s"
        )
        return text if self.eta_s is None else f"{text} eta={duration_text(self.eta_s)}"

    def fields(self) -> dict[str, Any]:
        return {
            "done": self.done,
            "total": self.total,
            "ok": self.ok,
            "not_ok": self.not_ok,
            "rate_per_s": round(self.rate, 1),
            "target_per_s": self.target,
            "throttled": self.throttled,
            "paused_s": round(self.paused_s, 1),
            "eta_s": None if self.eta_s is None else round(self.eta_s),
        }


def duration_text(seconds: float) -> str:
    """Go-style durations a parser reads and a person too: ``38s``, ``2m05s``, ``1h15m20s``."""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def utc_now_iso() -> str:
    """Now as ``2026-12-01T18:43:03.123Z``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Console:
    """Writes people's messages to ``stream`` (None: whatever ``sys.stderr`` is at write time) in ``fmt``."""

    def __init__(self, stream: IO[str] | None = None, fmt: LogFormat = "text", secrets: Iterable[Secret] = ()) -> None:
        self._stream = stream
        self.fmt: LogFormat = fmt
        self.secrets: tuple[Secret, ...] = tuple(secrets)
        self.live_write: Callable[[str], None] | None = None
        """Set while a live progress bar owns the terminal: text lines go through it so the bar is redrawn below."""

    def __repr__(self) -> str:
        return f"Console(fmt={self.fmt!r}, stream={self.stream!r}, secrets={len(self.secrets)})"

    @property
    def stream(self) -> IO[str]:
        return self._stream if self._stream is not None else sys.stderr

    @property
    def is_json(self) -> bool:
        return self.fmt == "json"

    def info(self, message: str, **fields: Any) -> None:
        """``bulkdelete: <message>`` / ``{"event":"info","message":…}``; ``fields`` only go into JSON."""
        self._message("info", message, fields)

    def warning(self, message: str, **fields: Any) -> None:
        self._message("warning", message, fields)

    def error(self, message: str, **fields: Any) -> None:
        self._message("error", message, fields)

    def progress(self, line: ProgressLine) -> None:
        if self.is_json:
            self._write_json({"event": "progress", **line.fields()})
        else:
            self._write_text(f"bulkdelete: progress {line.logfmt()}")

    def summary(self, summary: dict[str, Any], text: str) -> None:
        """The run's end: ``text`` (lines for people) or the summary document itself as one JSON object."""
        if self.is_json:
            self._write_json({"event": "summary", **summary})
        else:
            self._write_text(scrub(text, self.secrets))

    def end_terminal_line(self) -> None:
        """On a terminal in text mode, end the current line (after an echoed ``^C``); else nothing."""
        if self.is_json or self.live_write is not None:
            return
        try:
            if self.stream.isatty():
                self._write("")
        except (AttributeError, ValueError):
            pass

    def _message(self, event: Event, message: str, fields: dict[str, Any]) -> None:
        message = scrub(message, self.secrets)
        if self.is_json:
            self._write_json({"event": event, "message": message, **fields})
        else:
            self._write_text(f"bulkdelete: {message}" if event == "info" else f"bulkdelete: {event}: {message}")

    def _write_json(self, document: dict[str, Any]) -> None:
        line = orjson.dumps({**document, "ts": utc_now_iso()}, default=str).decode()
        self._write(scrub(line, self.secrets))

    def _write_text(self, text: str) -> None:
        if self.live_write is not None:
            self.live_write(text)
        else:
            self._write(text)

    def _write(self, text: str) -> None:
        stream = self.stream
        try:
            stream.write(text + "\n")
            stream.flush()
        except (OSError, ValueError):  # stderr closed or gone: people's messages are lost, the run is not
            pass


_default = Console()


def get() -> Console:
    """The console the CLI writes through."""
    return _default


def configure(
    *, fmt: LogFormat | None = None, stream: IO[str] | None = None, secrets: Iterable[Secret] | None = None
) -> Console:
    """Set the default console's format, stream or secrets (the ones given); returns it."""
    if fmt is not None:
        _default.fmt = fmt
    if stream is not None:
        _default._stream = stream
    if secrets is not None:
        _default.secrets = tuple(secrets)
    return _default


class _ToConsole(logging.Handler):
    """Library log records (asyncio's "Unclosed client session", aiohttp's, Python warnings) as console lines."""

    def __init__(self, target: Console | None) -> None:
        super().__init__(logging.WARNING)
        self._target = target

    def emit(self, record: logging.LogRecord) -> None:
        target = self._target or _default
        try:
            message = f"{record.name}: {record.getMessage()}"
        except Exception:  # a record whose arguments do not format: say so rather than lose it
            message = f"{record.name}: {record.msg!r}"
        if record.levelno >= logging.ERROR:
            target.error(message, logger=record.name)
        else:
            target.warning(message, logger=record.name)


@contextlib.contextmanager
def routed_logging(target: Console | None = None) -> Iterator[None]:
    """While inside, library log records (WARNING and up) and Python warnings go through ``target`` (default: the
    default console).

    Without it they would reach stderr through logging's last-resort handler and ``warnings.showwarning``, as plain
    text: under ``--log-format json`` every stderr line must parse. Restores the previous state on exit.
    """
    root = logging.getLogger()
    handler = _ToConsole(target)
    root.addHandler(handler)
    logging.captureWarnings(True)
    try:
        yield
    finally:
        logging.captureWarnings(False)
        root.removeHandler(handler)


def info(message: str, **fields: Any) -> None:
    """``bulkdelete: <message>`` on stderr, or its JSON event."""
    _default.info(message, **fields)


def warning(message: str, **fields: Any) -> None:
    """``bulkdelete: warning: <message>`` on stderr, or its JSON event."""
    _default.warning(message, **fields)


def error(message: str, **fields: Any) -> None:
    """``bulkdelete: error: <message>`` on stderr, or its JSON event."""
    _default.error(message, **fields)
