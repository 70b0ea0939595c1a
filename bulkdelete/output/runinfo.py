"""What the summary says about the run itself (SPEC §8): when, which version, where to, at what rate, and how.

Every value here is safe to print: the target's description is what the target itself chose to show (its org,
source, base URL and mode), and a base URL loses any ``user:password@`` it was given.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from yarl import URL

from bulkdelete._version import __version__
from bulkdelete.targets.base import Target


def describe_target(target: Target) -> dict[str, Any]:
    """``{"api", "org", "source", "base_url", "mode", ...}`` from the target's own ``describe()`` when it has one
    (a plugin may not: then only ``api``, its name)."""
    describe: Callable[[], dict[str, Any]] | None = getattr(target, "describe", None)
    info: dict[str, Any] = {"api": target.name}
    if describe is not None:
        info.update(describe())
    base_url = info.get("base_url")
    if isinstance(base_url, str) and "@" in base_url:
        info["base_url"] = str(URL(base_url).with_user(None))  # drops a password too
    return info


def target_label(target: dict[str, Any]) -> str:
    """A few words for the human summary's first line: ``coveo``, ``coveo batch``, ``velt``."""
    api = str(target.get("api", "?"))
    return f"{api} batch" if api == "coveo" and target.get("mode") == "batch" else api


@dataclass(frozen=True, slots=True)
class RunInfo:
    """The summary's facts about the run. ``rate_final`` is in req/s, ``0`` for unlimited (as ``--rate 0``);
    ``quota_found``: the rate (req/s) at which ``--rate auto`` last saw the API throttle, its estimate of the quota
    (None with a fixed rate, or when the API never throttled); ``shard``: ``I/N`` with ``--shard``, else None."""

    started_at: str
    finished_at: str
    target: dict[str, Any]
    rate_final: float | None
    timeline: list[dict[str, object]] = field(default_factory=list)
    quota_found: float | None = None
    shard: str | None = None
    version: str = __version__
