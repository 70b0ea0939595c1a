"""Secrets that never print.

A ``Secret`` hides its value from ``repr``/``str``/f-strings, so settings objects, tracebacks and logs can't leak it.
``scrub`` removes known secret values from any text shown to people (e.g. an exception message that echoed a header).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

MASK = "********"


@dataclass(frozen=True, slots=True)
class Secret:
    """A credential. Only ``reveal()`` gives the value, and only request building calls it."""

    _value: str = field(repr=False)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK!r})"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


MIN_SCRUBBED = 6
"""Shorter values are not masked: masking a one-letter token would mangle every word of the summary (seen with
``VELT_AUTH_TOKEN=t``), and no real credential is that short. Nothing prints a secret anyway; this is a backstop."""


def scrub(text: str, secrets: Iterable[Secret]) -> str:
    """``text`` with every secret value (of at least ``MIN_SCRUBBED`` characters) replaced by a mask."""
    for secret in secrets:
        value = secret.reveal()
        if len(value) >= MIN_SCRUBBED and value in text:
            text = text.replace(value, MASK)
    return text
