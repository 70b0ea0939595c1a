"""What a listing hands out: one ``Listed`` per item of the index, and its JSON line (SPEC §13).

A Coveo item's line is ``{"id", "source", "rowid", "date", "line", "ts"}``, a Velt document's ``{"id", "folder",
"line", "ts"}``: ``delete`` and ``verify`` read either as input, by its ``id``. ``rowid`` is an exact integer (above
2^53: it never passes through a float) and tells the two apart: a Velt document has none.
"""

from __future__ import annotations

from typing import NamedTuple

import orjson


class Listed(NamedTuple):
    """One listed item. ``id``: the Push ``documentId`` (Coveo ``uri``) or the Velt document id, byte for byte.

    ``source`` (Coveo source name), ``rowid`` (Coveo's keyset, exact) and ``date`` (epoch ms, or None) are Coveo's;
    ``folder`` is Velt's. A ``NamedTuple``: thousands are built per second, as ``Record`` and ``Result`` are.
    """

    id: str
    source: str | None = None
    rowid: int | None = None
    date: int | None = None
    folder: str | None = None

    def to_dict(self, line: int, ts: str) -> dict[str, object]:
        """The item's line as a mapping: ``line`` is its 1-based number in the listing, ``ts`` when it was read."""
        if self.rowid is None:
            return {"id": self.id, "folder": self.folder, "line": line, "ts": ts}
        return {"id": self.id, "source": self.source, "rowid": self.rowid, "date": self.date, "line": line, "ts": ts}

    def to_json(self, line: int, ts: str) -> bytes:
        """The item's JSON line, newline included."""
        return orjson.dumps(self.to_dict(line, ts), option=orjson.OPT_APPEND_NEWLINE)
