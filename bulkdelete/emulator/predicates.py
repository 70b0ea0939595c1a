"""Compile a query's syntax tree (``query``) into a predicate on the store's rows.

Fields: ``@uri`` (the document id), ``@source`` (the source's name), ``@rowid`` (an integer, compared exactly),
``@date`` and ``@indexeddate`` (epoch ms; values are dates, ``now-Nd`` or integers of ms), and any extra field a
document was loaded with (a list value matches when any element does; a document without the field never matches,
except under ``NOT`` or ``<>``). Strings compare case-insensitively, as Coveo's do: ``==`` equals, ``=`` contains,
``*=`` matches with ``*`` (any run) and ``?`` (one character), ``<``/``>`` compare. A value of the wrong kind
(``@rowid==abc``, ``@date<yesterday``) is a ``QuerySyntaxError``.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from typing import Any

from bulkdelete.emulator.query import And, Node, Not, Or, QuerySyntaxError, Term, Value, date_ms
from bulkdelete.emulator.store import ROWID_BASE, DocumentStore

Pred = Callable[[int], bool]
"""``pred(row)``: whether the document of ``row`` matches."""

_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_NUMBER_RE = re.compile(r"[+-]?\d+(?:\.\d+)?")
_MISSING = object()


def compile_node(node: Node, store: DocumentStore, now_ms: int) -> Pred:
    """The predicate of ``node`` over ``store``'s rows; ``now_ms`` resolves ``now…`` dates."""
    if isinstance(node, Term):
        return _term(node, store, now_ms)
    if isinstance(node, Not):
        inner = compile_node(node.child, store, now_ms)
        return lambda row: not inner(row)
    preds = [compile_node(child, store, now_ms) for child in node.children]
    if isinstance(node, And):
        return lambda row: all(pred(row) for pred in preds)
    assert isinstance(node, Or)
    return lambda row: any(pred(row) for pred in preds)


def _term(term: Term, store: DocumentStore, now_ms: int) -> Pred:
    field = term.field
    if field == "rowid":
        return _numeric(term, lambda row: ROWID_BASE + row, _integers(term))
    if field in ("date", "indexeddate"):
        getter = store.date_of if field == "date" else store.indexeddate_of
        return _numeric(term, getter, tuple(_date(term, value, now_ms) for value in term.values))
    if field in ("uri", "source"):
        text_of = store.row_ids.__getitem__ if field == "uri" else store.source_of
        if not term.op:
            return lambda row: True
        return _strings(term, text_of)
    return _extra(term, store, now_ms)


def _integers(term: Term) -> tuple[int, ...]:
    out = []
    for value in term.values:
        try:
            out.append(int(value.text))
        except ValueError:
            raise QuerySyntaxError(f"@{term.field} compares integers (got {value.text!r})") from None
    return tuple(out)


def _date(term: Term, value: Value, now_ms: int) -> int:
    found = date_ms(value.text, now_ms)
    if found is not None:
        return found
    if _NUMBER_RE.fullmatch(value.text):
        return int(float(value.text))
    raise QuerySyntaxError(
        f"@{term.field} compares dates: YYYY/MM/DD[@hh:mm:ss], now-Nd or epoch ms (got {value.text!r})"
    )


def _numeric(term: Term, get: Callable[[Any], Any], values: tuple[float, ...]) -> Callable[[Any], bool]:
    op = term.op
    if not op:
        return lambda row: True
    if op in _ORDER:
        compare, bound = _ORDER[op], _single(term, values)
        return lambda row: compare(get(row), bound)
    if op in ("==", "="):
        wanted = frozenset(values)
        return lambda row: get(row) in wanted
    if op == "<>":
        unwanted = frozenset(values)
        return lambda row: get(row) not in unwanted
    raise QuerySyntaxError(f"@{term.field} does not take {op} (a number or a date: ==, <>, <, <=, >, >=)")


def _single(term: Term, values: tuple[Any, ...]) -> Any:
    if len(values) != 1:
        raise QuerySyntaxError(f"@{term.field}{term.op} takes one value, not a list")
    return values[0]


def _strings(term: Term, text_of: Callable[[int], str]) -> Pred:
    """A string field: every operator compares case-insensitively."""
    match = string_matcher(term)
    return lambda row: match(text_of(row))


def string_matcher(term: Term) -> Callable[[str], bool]:
    """Whether a string value satisfies ``term`` (case-insensitive)."""
    op, texts = term.op, [value.text.lower() for value in term.values]
    if op == "==" or (op == "*=" and not any("*" in t or "?" in t for t in texts)):
        wanted = frozenset(texts)
        return lambda text: text.lower() in wanted
    if op == "<>":
        unwanted = frozenset(texts)
        return lambda text: text.lower() not in unwanted
    if op == "=":
        return lambda text: any(part in text.lower() for part in texts)
    if op == "*=":
        pattern = re.compile("|".join(map(wildcard_regex, texts)), re.IGNORECASE | re.DOTALL)
        return lambda text: pattern.fullmatch(text) is not None
    compare, bound = _ORDER[op], _single(term, tuple(texts))
    return lambda text: compare(text.lower(), bound)


def wildcard_regex(value: str) -> str:
    """``*`` any run of characters, ``?`` any one, the rest literal."""
    return "(?:" + "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in value) + ")"


def _extra(term: Term, store: DocumentStore, now_ms: int) -> Pred:
    """A field documents were loaded with: a number or date value compares as a number, else as a string."""
    field, op = term.field, term.op
    if not op:
        return lambda row: field in store.extra_of(row)
    strings = string_matcher(term)
    numbers = [_number(value, now_ms) for value in term.values]
    numeric: Callable[[Any], bool] | None = None
    if all(number is not None for number in numbers) and op != "*=":
        numeric = _numeric(term, lambda x: x, tuple(n for n in numbers if n is not None))

    def matches(value: Any) -> bool:
        if isinstance(value, list):
            return any(matches(item) for item in value) if op != "<>" else all(matches(item) for item in value)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and numeric is not None:
            return numeric(value)
        return isinstance(value, str) and strings(value)

    def pred(row: int) -> bool:
        value = store.extra_of(row).get(field, _MISSING)
        if value is _MISSING:
            return op == "<>"
        return matches(value)

    return pred


def _number(value: Value, now_ms: int) -> int | float | None:
    if _NUMBER_RE.fullmatch(value.text):
        number = float(value.text)
        return int(number) if number.is_integer() and "." not in value.text else number
    return date_ms(value.text, now_ms)
