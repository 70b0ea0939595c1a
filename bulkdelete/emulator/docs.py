"""What a document is to the emulator (``DocSpec``), and the ``--docs`` reader: ids and JSON lines."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

DEFAULT_SOURCE = "demo-source"
BUILTIN_FIELDS = frozenset({"id", "source", "date", "indexeddate"})


@dataclass(frozen=True, slots=True)
class DocSpec:
    """A document to add: ``date``/``indexeddate`` in epoch ms (None: the time it is added), ``fields`` the extra
    fields (names lower-cased, as the query language reads them)."""

    id: str
    source: str = DEFAULT_SOURCE
    date: int | None = None
    indexeddate: int | None = None
    fields: tuple[tuple[str, Any], ...] = ()


Doc = str | DocSpec
"""A plain id (source ``demo-source``, dated when added) or a ``DocSpec``."""


def doc_from_json(obj: Any) -> DocSpec:
    """A ``DocSpec`` from a JSON object ``{"id", "source"?, "date"?, "indexeddate"?, any field}``; ``ValueError``
    saying what is wrong."""
    if not isinstance(obj, dict):
        raise ValueError("a document must be a JSON object")
    doc_id, source = obj.get("id"), obj.get("source", DEFAULT_SOURCE)
    if not isinstance(doc_id, str) or not doc_id:
        raise ValueError("a document needs an id string")
    if not isinstance(source, str) or not source:
        raise ValueError(f"source must be a non-empty string (got {source!r})")
    dates = [obj.get(name) for name in ("date", "indexeddate")]
    for value in dates:
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ValueError(f"date and indexeddate are integers of epoch milliseconds (got {value!r})")
    extra = tuple((name.lower(), value) for name, value in obj.items() if name not in BUILTIN_FIELDS)
    return DocSpec(doc_id, source, dates[0], dates[1], extra)


def read_docs(path: str | Path) -> Iterator[Doc]:
    """Yield the documents of a ``--docs`` file: a line is an id (trimmed) or a JSON object (a line starting with
    ``{``); blank lines and ``#`` comments are skipped. A bad JSON line is a ``ValueError`` naming its line."""
    with open(path, encoding="utf-8-sig") as handle:
        for number, line in enumerate(handle, 1):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            if not text.startswith("{"):
                yield text
                continue
            try:
                yield doc_from_json(orjson.loads(text))
            except (orjson.JSONDecodeError, ValueError) as exc:
                raise ValueError(f"{path}:{number}: {exc}") from None


def read_doc_ids(path: str | Path) -> Iterator[str]:
    """Yield the ids of a ``--docs`` file (a JSON line gives its ``id``)."""
    for doc in read_docs(path):
        yield doc if isinstance(doc, str) else doc.id
