"""Velt Get Documents without ``documentIds``: the organization's documents, a page at a time (SPEC §13).

Request ``{"data": {"organizationId", "pageSize"?, "pageToken"?, "folderId"?}}``: ``pageSize`` 1..1000 (default
1000), ``folderId`` keeps the documents loaded with that ``folder``. Answer ``{"status": "success", "message",
"data": [{"id", "documentId", "documentName", "disabled", "accessType", "folderId"?}], "pageToken": next}`` in rowid
order; ``pageToken`` is ``""`` on the last page. Tokens are opaque (URL-safe base64 of the page's last rowid), so a
document added during a listing comes after every page already read, and a deleted one is simply not there.
``velt_repeat_token_after`` N: once N pages were served, a page asked with a token answers that same token again.
Every organization sees the emulator's one document set.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from bulkdelete.emulator.query import And, Node, Term, Value
from bulkdelete.emulator.selection import select
from bulkdelete.emulator.state import EmulatorState
from bulkdelete.emulator.store import ROWID_BASE

MAX_PAGE_SIZE = 1000
LIST_MESSAGE = "Document(s) retrieved successfully."


class VeltError(Exception):
    """Raised to answer the whole request with ``{"error":{"status","message"}}``."""

    def __init__(self, status_name: str, message: str) -> None:
        super().__init__(message)
        self.status_name, self.message = status_name, message


def document(state: EmulatorState, doc_id: str) -> dict[str, Any]:
    """A document as Get Documents answers it (``folderId`` when it was loaded with a ``folder``)."""
    out: dict[str, Any] = {
        "id": doc_id,
        "documentId": doc_id,
        "documentName": doc_id,
        "disabled": False,
        "accessType": "public",
    }
    row = state.documents.row_of(doc_id)
    folder = None if row is None else state.documents.extra_of(row).get("folder")
    if folder is not None:
        out["folderId"] = folder
    return out


def encode_token(rowid: int) -> str:
    return base64.urlsafe_b64encode(f"r{rowid}".encode()).decode().rstrip("=")


def decode_token(token: str) -> int:
    """The rowid a token stands for; ``VeltError`` for a token this emulator did not hand out."""
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        if text.startswith("r"):
            return int(text[1:])
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise VeltError("INVALID_ARGUMENT", f"Invalid pageToken {token!r}.")


def list_page(state: EmulatorState, data: dict[str, Any]) -> dict[str, Any]:
    """One page of the listing: the ``result`` object."""
    size, token, folder = _listing_params(data)
    last = ROWID_BASE - 1 if token is None else decode_token(token)
    terms: list[Node] = [Term("rowid", ">", (Value(str(last)),))]
    if folder is not None:
        terms.append(Term("folder", "==", (Value(folder, quoted=True),)))
    matches = select(state.documents, And(tuple(terms)), int(state.wall() * 1000), state.selections)
    rows = matches.rows(size, "ascending")
    ids = state.documents.row_ids
    next_token = encode_token(ROWID_BASE + rows[-1]) if rows and matches.total > len(rows) else ""
    repeat_after = state.config.velt_repeat_token_after
    if token is not None and repeat_after is not None and state.stats.velt_list_pages >= repeat_after:
        next_token = token  # the fault: the same token again
    state.stats.velt_list_pages += 1
    state.stats.velt_listed += len(rows)
    page = [document(state, ids[row]) for row in rows]
    return {"status": "success", "message": LIST_MESSAGE, "data": page, "pageToken": next_token}


def _listing_params(data: dict[str, Any]) -> tuple[int, str | None, str | None]:
    size = data.get("pageSize", MAX_PAGE_SIZE)
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_PAGE_SIZE:
        raise VeltError("INVALID_ARGUMENT", f"data.pageSize must be an integer 1..{MAX_PAGE_SIZE} (got {size!r}).")
    token, folder = data.get("pageToken"), data.get("folderId")
    if token is not None and not isinstance(token, str):
        raise VeltError("INVALID_ARGUMENT", f"data.pageToken must be a string (got {token!r}).")
    if folder is not None and (not isinstance(folder, str) or not folder):
        raise VeltError("INVALID_ARGUMENT", f"data.folderId must be a non-empty string (got {folder!r}).")
    return size, token or None, folder
