"""Compact memory of the ids a run has seen (de-duplication, ``--resume``): SPEC §6 allows ~100 bytes per id.

Each distinct id is kept as a 176-bit BLAKE2b digest turned into a Python ``int`` in a ``set``. Why 176 bits:
an ``int`` stores 30 bits per 4-byte digit; 6 digits (up to 180 bits) make a 48-byte object, one 48-byte
allocator block; 181 bits and up would take a 64-byte block. The set's table adds 16 bytes per slot at a load
between 0.3 and 0.6, i.e. 27-53 bytes per id. Measured (``benchmarks/memory_per_id.py``, tracemalloc): 82
bytes/id at 1M ids, 90-96 elsewhere, at most ~101 just after the table doubles.

A collision makes a distinct id look like a duplicate (it would never be deleted). With ``b = 176`` bits the
probability of any collision among ``n`` ids is about ``n² / 2^(b+1)``: ~5e-40 for 10 million ids.
"""

from __future__ import annotations

from hashlib import blake2b

DIGEST_BYTES = 22  # 176 bits: the widest digest whose int still fits a 48-byte block (see above)


def id_key(record_id: str) -> int:
    """The 176-bit BLAKE2b digest that stands for ``record_id`` (here, and in ``verify``'s verdicts per id)."""
    # surrogatepass: never raise, whatever string the reader produced.
    data = record_id.encode("utf-8", "surrogatepass")
    return int.from_bytes(blake2b(data, digest_size=DIGEST_BYTES).digest())


class SeenIds:
    """A set of ids that stores only a 176-bit digest of each (not the id): ``add``, ``in``, ``len``."""

    __slots__ = ("_keys",)

    def __init__(self) -> None:
        self._keys: set[int] = set()

    def __repr__(self) -> str:
        return f"<SeenIds {len(self._keys):,} ids>"

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, record_id: object) -> bool:
        return isinstance(record_id, str) and id_key(record_id) in self._keys

    def add(self, record_id: str) -> bool:
        """Remember ``record_id``; True when it was new, False when it had been seen (or collides)."""
        keys = self._keys
        before = len(keys)
        keys.add(id_key(record_id))
        return len(keys) != before
