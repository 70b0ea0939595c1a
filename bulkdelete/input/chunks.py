"""The bytes of one input, as they come: raw reads (never through a lock a blocked read would hold), gzip inflated.

Every read is one ``read(2)`` (or the stream's ``read1``): a thread blocked on a slow producer holds no
``BufferedReader`` lock, so the interpreter can always shut down while it waits (``sys.stdin.buffer`` would make it
abort: "Fatal Python error: _enter_buffered_busy"). gzip is recognised by its magic bytes and inflated here with
zlib, not ``gzip.GzipFile`` (which reads through a ``BufferedReader`` of its own).
"""

from __future__ import annotations

import itertools
import sys
import zlib
from collections.abc import Callable, Iterator
from typing import BinaryIO

__all__ = ["CHUNK_BYTES", "byte_chunks", "stdin_stream"]

CHUNK_BYTES = 256 * 1024
_GZIP_MAGIC = b"\x1f\x8b"
_GZIP_WBITS = 16 + zlib.MAX_WBITS  # zlib's gzip framing (header and CRC checked)
_INFLATE_MAX = 4 * CHUNK_BYTES


def byte_chunks(stream: BinaryIO, before_read: Callable[[], None]) -> Iterator[bytes]:
    """Non-empty chunks of ``stream``'s content, decompressed when it starts with the gzip magic bytes.

    ``before_read`` is called before every read. Raises ``OSError`` (a read failed), ``zlib.error`` (corrupt gzip)
    or ``EOFError`` (a cut gzip stream).
    """
    return _maybe_gunzip(_raw_chunks(stream, before_read))


def stdin_stream() -> BinaryIO:
    """Standard input as an unbuffered view of file descriptor 0 (``sys.stdin.buffer`` when there is none).

    Never ``sys.stdin.buffer`` when avoidable: a thread blocked in a read of that ``BufferedReader`` holds its lock,
    and the interpreter, shutting down while a slow producer keeps the pipe open, aborts on that lock (``Fatal Python
    error: _enter_buffered_busy``). A raw ``read(2)`` holds no lock: the process can end while it waits.
    """
    try:
        fd = sys.stdin.fileno()
    except (AttributeError, ValueError, OSError):  # no stdin, or one replaced by an object without a descriptor
        return sys.stdin.buffer
    return open(fd, "rb", buffering=0, closefd=False)


def _raw_chunks(stream: BinaryIO, before_read: Callable[[], None]) -> Iterator[bytes]:
    """Non-empty chunks of ``stream`` as they come: ``read1`` (or a raw ``read``) returns what is available, so ids
    trickling down a pipe are yielded as they come. ``before_read`` is called before every read."""
    read = getattr(stream, "read1", stream.read)
    while True:
        before_read()  # the parser has yielded every record of the bytes read so far
        chunk = read(CHUNK_BYTES)
        if not chunk:
            return
        yield chunk


def _maybe_gunzip(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """``chunks``, decompressed when the input starts with the gzip magic bytes."""
    head = b""
    for chunk in chunks:
        head += chunk
        if len(head) >= len(_GZIP_MAGIC) or head != _GZIP_MAGIC[: len(head)]:
            break
    if head.startswith(_GZIP_MAGIC):
        yield from _gunzip(itertools.chain((head,), chunks))
        return
    if head:
        yield head
    yield from chunks


def _gunzip(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Decompress a gzip stream chunk by chunk, as ``gzip`` does (members concatenated, zero padding at the end).

    Not ``gzip.GzipFile``: it reads through an ``io.BufferedReader`` whose lock a blocked read would hold (see
    ``stdin_stream``). Output comes at most ``_INFLATE_MAX`` bytes at a time, so a gzip bomb cannot fill memory.
    Raises ``zlib.error`` on corrupt data and ``EOFError`` on a cut stream.
    """
    inflater = zlib.decompressobj(_GZIP_WBITS)
    fresh = True  # no byte of the current member seen yet: zero padding, or the end, may come instead
    for data in chunks:
        while data:
            if fresh:
                data = data.lstrip(b"\0")
                if not data:
                    break
                fresh = False
            out = inflater.decompress(data, _INFLATE_MAX)
            if out:
                yield out
            if inflater.eof:  # a member ended: another may follow
                data = inflater.unused_data
                inflater, fresh = zlib.decompressobj(_GZIP_WBITS), True
            else:
                data = inflater.unconsumed_tail
    if not fresh:
        raise EOFError("compressed file ended before the end-of-stream marker was reached")
