"""Run-wide refusals (SPEC §6): when every answer is the same final 4xx, stop instead of spending the input.

A wrong flag or source (``--source`` naming nothing, a parameter the API rejects) makes the API refuse every request
for its shape, alike: sending the other 19,980 ids only fails them too, and spends the org's shared daily quota. The
engine shows ``RefusalWatch`` each request's verdicts once they are settled; it answers a message when

- the first ``first`` (20) final answers of the run are all the same refusal, or
- ``streak`` (50) final answers in a row are, at any point of the run,

where a *refusal* is a final (no retry), not-ok answer with a 4xx status, and *the same* means the same status and
the same error code (``400 INVALID_PARAMETER``). Answers that will be retried (429, 5xx, dropped connections) are
not final: they neither count nor break a streak. A success, or a 4xx meaning *gone* (Velt ``not-found``, a
``--gone-status``: the outcome ``not_found``, ok), is not a refusal and breaks the streak. Records rejected before
sending (``invalid``) never reach it.

One request is one answer, whatever the number of records it carried (a Velt batch, a Coveo file container): a
request whose records did not all get the same refusal is not a refusal.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bulkdelete.targets.base import Action, Verdict

FIRST_ANSWERS = 20
STREAK = 50
# Every target words an error as "<status> <CODE>[: message][ (X-Request-ID …)]" (targets.answers.error_text).
_HEAD = re.compile(r"(\d{3}) ([^\s:(]+)")
_NO_CODE = "HTTP"  # error_text writes "HTTP error" when the answer had no code

# (status, code) → what the operator should check; the first match wins, a code of None matches any code.
_CAUSES: tuple[tuple[int, str | None, str], ...] = (
    (400, "ORGANIZATION_IS_PAUSED", "the organization is paused: resume it in the Coveo Administration Console"),
    (400, None, "the API refuses the requests' shape: check your flags / source id (--source, --org, --ordering-id)"),
    (404, None, "the API does not know that path: check --source / --org / --base-url (or --region)"),
    (405, None, "the API does not take that method there: check --base-url (and --method)"),
    (409, None, "the API reports a conflict for every request: check the source's state (e.g. a rebuild running)"),
    (412, "DOCUMENT_LIMIT_EXCEEDED", "the organization's document limit: see its licence"),
    (412, None, "a precondition fails for every request: check your flags"),
    (413, None, "each request is too large: lower --batch-bytes / --batch-size"),
    (422, None, "the API refuses the requests' content: check your flags and the ids' format"),
)
_DONE = Action.DONE  # read per request: a global is ~10x cheaper than the enum member (CPython 3.11)
_DEFAULT_CAUSE = "every request is refused alike: check your flags, the ids' format and --base-url"


def likely_cause(status: int, code: str | None) -> str:
    """What to check when every request gets ``status`` ``code``."""
    for known_status, known_code, cause in _CAUSES:
        if known_status == status and known_code in (None, code):
            return cause
    return _DEFAULT_CAUSE


def refusal_key(verdict: Verdict) -> tuple[int, str | None] | None:
    """``(status, code)`` when ``verdict`` is a refusal: final, not ok, 4xx; else None."""
    action, outcome, status, error = verdict[0], verdict[1], verdict[2], verdict[3]
    if action is not _DONE or outcome.ok or status is None or not 400 <= status < 500:
        return None
    match = _HEAD.match(error or "")
    code = match[2] if match is not None and int(match[1]) == status and match[2] != _NO_CODE else None
    return status, code


class RefusalWatch:
    """Counts alike refusals; ``observe`` returns the message to stop with once they are run-wide, else None."""

    __slots__ = ("_first", "_key", "_mixed", "_sample", "_streak", "_streak_needed")

    def __init__(self, first: int = FIRST_ANSWERS, streak: int = STREAK) -> None:
        if not 1 <= first <= streak:
            raise ValueError(f"need 1 <= first <= streak (got {first}, {streak})")
        self._first, self._streak_needed = first, streak
        self._key: tuple[int, str | None] | None = None
        self._streak = 0
        self._mixed = False  # a final answer other than the current refusal has been seen: `first` no longer applies
        self._sample = ""

    def __repr__(self) -> str:
        return f"<RefusalWatch key={self._key} streak={self._streak} mixed={self._mixed}>"

    def observe(self, verdicts: Sequence[Verdict]) -> str | None:
        """Count one request's answer (its records' verdicts, in order)."""
        head = verdicts[0]
        if head[0] is not _DONE:
            return None  # retried, or an abort the engine already stops for: not a final answer
        if head[1].ok:  # a success (or gone) breaks any streak: the path of nearly every request, kept short
            self._key, self._streak, self._mixed = None, 0, True
            return None
        key = refusal_key(head)
        if key is not None and len(verdicts) > 1 and any(refusal_key(v) != key for v in verdicts):
            key = None
        if key is None:
            self._key, self._streak, self._mixed = None, 0, True
            return None
        if key != self._key:
            self._mixed = self._mixed or self._key is not None
            self._key, self._streak = key, 0
        self._streak += 1
        self._sample = head[3] or ""
        needed = self._streak_needed if self._mixed else self._first
        return self._message(needed) if self._streak >= needed else None

    def _message(self, count: int) -> str:
        assert self._key is not None
        status, code = self._key
        which = f"the first {count} answers" if not self._mixed else f"{count} answers in a row"
        return (
            f"run-wide refusal: {which} were all {status} {code or '(no error code)'}, nothing more sent; "
            f"likely cause: {likely_cause(status, code)}. Last answer: {self._sample}"
        )
