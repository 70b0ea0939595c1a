"""Parsing and checking what the user typed: rates, durations, error budgets, orderingIds, URLs, secrets.

Every check raises ``ConfigError`` with a message that says what to do; all of them run before anything is sent.
"""

from __future__ import annotations

import math
import os
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from bulkdelete.errors import ConfigError
from bulkdelete.net.hosts import is_loopback_host
from bulkdelete.rate.control import AutoRate, RateSpec, Unlimited, parse_rate_spec
from bulkdelete.rate.redis_store import RateStore, has_password
from bulkdelete.secrets import Secret

FUTURE_ORDERING_TOLERANCE_MS = 5 * 60 * 1000
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_rate(text: str, default: str | None = None) -> RateSpec:
    """``--rate``: requests per second (``0`` = unlimited), or ``auto``.

    ``auto`` starts from the command's ``default`` rate when that is a number > 0: the rate documented as safe for
    that API (Coveo 50/s, Velt 5/s) is where "start moderately" (SPEC §6) starts.
    """
    try:
        rate = float(text) if text.strip().lower() != "auto" else None
    except ValueError:
        raise ConfigError(f"--rate must be a number of requests per second or 'auto' (got {text!r})") from None
    if rate is not None and (not rate >= 0 or rate == float("inf")):
        raise ConfigError(f"--rate must be >= 0 (got {text})")
    return parse_rate_spec(text, auto_start=_positive(default))


def parse_rate_store(url: str, from_command_line: bool, rate: RateSpec) -> RateStore:
    """``--rate-store URL`` (SPEC §12), its key still to be set. A password in ``url`` is a secret: accepted from
    ``BULKDELETE_RATE_STORE`` only. The shared rate is a number: ``auto`` cannot be shared (yet), and ``0`` (unlimited)
    has nothing to share."""
    if from_command_line and has_password(url):
        raise ConfigError(
            "--rate-store: a password never goes on the command line (it would show in ps and shell history): "
            "set BULKDELETE_RATE_STORE=redis://:PASSWORD@host:port/db instead"
        )
    store = RateStore.from_url(url, key="")
    if isinstance(rate, AutoRate):
        raise ConfigError("--rate auto cannot be shared through --rate-store (yet): give the fleet's budget, --rate R")
    if isinstance(rate, Unlimited):
        raise ConfigError(
            "--rate 0 (unlimited) leaves nothing to share through --rate-store: give the fleet's budget, --rate R"
        )
    return store


def rate_key_for(api: str, params: dict[str, object]) -> str:
    """``--rate-key``'s default: ``bulkdelete:{api}:{org}``, or ``bulkdelete:http:{host}`` for any REST API."""
    if api == "http":
        template = params.get("url_template") or ""
        base = params.get("base_url") or ""
        url = str(base) if str(template).startswith("/") else str(template)
        try:
            host = urlsplit(url).hostname or "-"
        except ValueError:
            host = "-"
        return f"bulkdelete:http:{host}"
    org = params.get("org") or "-"
    return f"bulkdelete:{api}:{org}"


def _positive(text: str | None) -> float | None:
    try:
        value = float(text) if text is not None else math.nan
    except ValueError:
        return None
    return value if value > 0 and math.isfinite(value) else None


def parse_duration(text: str, option: str = "--stop-after", *, allow_zero: bool = False) -> float:
    """``90m``, ``2h``, ``1h30m``, ``45s``, ``500ms`` or a bare number of seconds → seconds (> 0, or >= 0)."""
    cleaned = text.strip().lower()
    try:
        seconds = float(cleaned)
    except ValueError:
        parts = _DURATION.findall(cleaned)
        if not parts or "".join(n + u for n, u in parts) != cleaned:
            raise ConfigError(f"{option} must be a duration such as 90m, 2h or 1h30m (got {text!r})") from None
        seconds = sum(float(n) * _UNIT_S[u] for n, u in parts)
    if not math.isfinite(seconds) or seconds < 0 or (seconds == 0 and not allow_zero):
        raise ConfigError(f"{option} must be {'>= 0' if allow_zero else '> 0'} (got {text!r})")
    return seconds


def parse_max_errors(text: str) -> tuple[int | None, float | None]:
    """``--max-errors``: ``N`` records, or ``N%`` of the records decided so far."""
    cleaned = text.strip()
    try:
        if cleaned.endswith("%"):
            percent = float(cleaned[:-1])
            if not 0 < percent <= 100:
                raise ValueError
            return None, percent
        count = int(cleaned)
        if count < 1:
            raise ValueError
    except ValueError:
        raise ConfigError(f"--max-errors must be a count >= 1 or a percentage like 5% (got {text!r})") from None
    return count, None


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def parse_ordering_id(text: str, *, allow_future: bool, now: int | None = None) -> int:
    """``--ordering-id INT|now`` (epoch milliseconds), refusing one more than 5 minutes ahead of the local clock.

    An orderingId in the future makes the source reject every push until that time (ten years ahead, the source is
    lost), so it takes ``--allow-future-ordering-id`` to send one.
    """
    current = now_ms() if now is None else now
    if text.strip().lower() == "now":
        return current
    try:
        value = int(text)
    except ValueError:
        raise ConfigError(f"--ordering-id must be epoch milliseconds or 'now' (got {text!r})") from None
    if value < 0:
        raise ConfigError(f"--ordering-id must be >= 0 (got {value})")
    if value - current > FUTURE_ORDERING_TOLERANCE_MS and not allow_future:
        when = datetime.fromtimestamp(value / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        ahead = (value - current) / 60000
        raise ConfigError(
            f"--ordering-id {value} is {ahead:,.0f} minutes in the future ({when}): the source would reject "
            "every new push until then, and there is no undo. Use 'now' or epoch milliseconds from your own "
            "clock (UTC, no offset); pass --allow-future-ordering-id only if you set your own future orderingIds."
        )
    return value


def check_base_url(url: str) -> str:
    """A base URL we may send a secret to: https anywhere, plain http only to a loopback host (the emulator)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"--base-url must be an http(s) URL such as https://api.cloud.coveo.com (got {url!r})")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ConfigError(
            f"refusing to send an API key in clear text to {parts.hostname}: use https://, "
            "or plain http:// only for a loopback emulator (127.0.0.1)"
        )
    return url.rstrip("/")


def secret_from(env_name: str, key_file: Path | None = None, *, what: str) -> Secret:
    """A secret from ``key_file`` (first line) or the environment; never from the command line."""
    if key_file is not None:
        try:
            value = key_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"cannot read the key file {str(key_file)!r}: {exc.strerror}") from None
        if not value:
            raise ConfigError(f"the key file {str(key_file)!r} is empty")
        return Secret(value)
    value = os.environ.get(env_name, "").strip()
    if not value:
        raise ConfigError(f"{what} is missing: set {env_name} (secrets never go on the command line)")
    return Secret(value)


def required(value: str | None, option: str, env_name: str) -> str:
    value = value or os.environ.get(env_name, "")
    if not value.strip():
        raise ConfigError(f"{option} is required (or set {env_name})")
    return value.strip()


def check_writable(path: str | None, option: str) -> str | None:
    """A file path the run will write (``-o``, ``--resume``, ``--summary``): its folder must exist, checked up front
    so a typo fails before anything is sent rather than after an hour of deleting."""
    if path is None or path == "-":
        return path
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ConfigError(f"{option} {path!r}: the folder {folder!r} does not exist")
    if os.path.isdir(path):
        raise ConfigError(f"{option} {path!r} is a folder, not a file")
    if not os.access(folder, os.W_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        raise ConfigError(f"{option} {path!r} is not writable")
    return path
