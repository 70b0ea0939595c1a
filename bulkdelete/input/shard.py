"""``--shard I/N`` (SPEC §12): this process takes only its share of the input, so that N processes split one list.

A record belongs to shard ``blake2b(id, digest_size=8) as a big-endian int % N``, where ``id`` is the id as read and
trimmed (SPEC §4), in UTF-8. The hash depends on the id alone (not on its line, file or position), so N processes
reading the same input, each with its own ``I``, take every record exactly once whatever their order or speed, and
a record's shard does not change when lines are added, removed or the input is re-sorted for a re-run.

A record the reader flags with a ``problem`` (undecodable bytes, a control character, over 8 KiB, a JSON/CSV line
without a usable id) belongs to shard 0: its id is not, or not wholly, the id as read (a printable rendering, a cut
prefix), and every such ``invalid`` line of a job is then reported once, by one process.

Not shared with the dedupe digest (``pipeline.dedupe``): BLAKE2b's digest size is one of its parameters, so the
8-byte digest the contract names is not a prefix of dedupe's 22-byte one; sharing would mean two hashes anyway, and
the filter runs in the reader thread, before the engine, where other shards' records cost nothing more.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from hashlib import blake2b

from bulkdelete.errors import ConfigError
from bulkdelete.records import Record

__all__ = ["MAX_SHARDS", "Shard", "shard_of"]

MAX_SHARDS = 4096
_SPEC = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


def shard_of(record_id: str, count: int) -> int:
    """The shard (``0 <= shard < count``) of an id as read and trimmed."""
    # surrogatepass: never raise, whatever string a caller hands in (the reader itself never makes surrogates).
    digest = blake2b(record_id.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % count


@dataclass(frozen=True, slots=True)
class Shard:
    """Shard ``index`` of ``count`` (``0 <= index < count <= MAX_SHARDS``); ``str()`` gives ``I/N`` back."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if not 0 < self.count <= MAX_SHARDS or not 0 <= self.index < self.count:
            raise ConfigError(
                f"--shard must be I/N with 0 <= I < N <= {MAX_SHARDS}, e.g. 0/4 (got {self.index}/{self.count})"
            )

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``I/N`` as typed (``--shard``, ``BULKDELETE_SHARD``); ``ConfigError`` saying what is expected."""
        match = _SPEC.fullmatch(text)
        if match is None:
            raise ConfigError(f"--shard must be I/N with 0 <= I < N <= {MAX_SHARDS}, e.g. 0/4 (got {text!r})")
        return cls(int(match[1]), int(match[2]))

    def owns(self, record: Record) -> bool:
        """Whether ``record`` falls in this shard (a record with a ``problem`` falls in shard 0)."""
        if record.problem is not None:
            return self.index == 0
        return shard_of(record.id, self.count) == self.index


class ShardFilter:
    """The records of one shard out of a stream of records; ``others`` counts those passed over so far.

    ``select`` runs in the reader's thread; ``others`` is one int written there and read on the loop.
    """

    __slots__ = ("others", "shard")

    def __init__(self, shard: Shard) -> None:
        self.shard = shard
        self.others = 0

    def __repr__(self) -> str:
        return f"<ShardFilter {self.shard} others={self.others:,}>"

    def select(self, records: Iterator[Record]) -> Iterator[Record]:
        owns = self.shard.owns
        for record in records:
            if owns(record):
                yield record
            else:
                self.others += 1
