"""``--except FILE ...``: the ids a listing leaves out (SPEC §13 orphans), kept as digests (~90 bytes an id).

The files are read with the delete commands' readers (lines, JSON lines, CSV, ``.gz``, ``-`` for stdin; ids
trimmed), so an export of the system of record or an earlier run's lines serve alike. A file set holding no id at
all is a usage error: leaving nothing out would select the whole source.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import BinaryIO

from bulkdelete.errors import ConfigError
from bulkdelete.input.feed import ReaderFeed
from bulkdelete.pipeline.dedupe import SeenIds


class ExceptIds:
    """Ids to leave out: ``id in except_ids``; ``len``: distinct ids held. A digest per id, never the id."""

    __slots__ = ("_ids", "sources")

    def __init__(self, ids: SeenIds | None = None, sources: Sequence[str] = ()) -> None:
        self._ids = ids if ids is not None else SeenIds()
        self.sources = tuple(sources)

    def __repr__(self) -> str:
        return f"<ExceptIds {len(self._ids):,} ids from {', '.join(self.sources) or 'nowhere'}>"

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, record_id: object) -> bool:
        return record_id in self._ids

    def add(self, record_id: str) -> None:
        self._ids.add(record_id)

    @classmethod
    async def load(
        cls, paths: Sequence[str], *, fmt: str = "auto", field: str | None = None, stdin: BinaryIO | None = None
    ) -> ExceptIds:
        """Every id of ``paths`` (``-``: stdin). Raises ``ConfigError`` for a file that cannot be read, or when
        they hold no id at all."""
        held = cls(sources=paths)
        feed = ReaderFeed(paths, fmt=fmt, field=field, stdin=stdin)
        try:
            async for chunk in feed:
                for record in chunk:
                    if record.id:  # an unreadable line still names no id to keep
                        held.add(record.id)
        finally:
            await feed.aclose()
        if not len(held):
            names = ", ".join(paths)
            raise ConfigError(
                f"--except {names}: no id in it; leaving nothing out would list the whole selection (check the file, "
                "or drop --except)"
            )
        return held
