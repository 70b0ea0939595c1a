"""The subset of Coveo's query language the emulator's Search API understands: a parser to a small syntax tree.

Grammar (SPEC §11, §13; ``AND``, ``OR``, ``NOT`` in capitals, as Coveo writes them)::

    query  := and EOF
    and    := or (["AND"] or)*              a space is an AND
    or     := unary ("OR" unary)*           OR binds tighter than AND, as in Coveo's syntax
    unary  := "NOT" unary | "(" and ")" | term
    term   := @field [op (value | "(" value ("," value)* ")")]      a bare @field: the field exists
    op     := "==" | "=" | "<>" | "<" | "<=" | ">" | ">=" | "*="
    value  := "quoted" | word               a word: up to a space, a comma or a parenthesis

Field names are case-insensitive (kept lower-cased). A quoted value holding a backslash is refused rather than
unescaped (``verify`` relies on it: such an id is never asked). Anything else is a ``QuerySyntaxError`` whose
message names the problem and its offset: the Search API answers it 400 ``InvalidQuerySyntax``.

Dates (``date_ms``): ``YYYY/MM/DD[@hh:mm:ss]`` (``-`` and ``T`` also accepted), UTC, and ``now``, ``now-Nd``,
``now-Nh``, ``now-Nm``, ``now-Ns`` (also ``+``), relative to the emulator's wall clock.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass

OPERATORS = ("==", "*=", "<>", "<=", ">=", "<", ">", "=")
_FIELD_RE = re.compile(r"@([A-Za-z0-9_]+)")
_WORD_RE = re.compile(r'[^\s(),"]+')
_DATE_RE = re.compile(r"(\d{4})[/-](\d{1,2})[/-](\d{1,2})(?:[@T](\d{1,2}):(\d{2})(?::(\d{2}))?)?Z?")
_RELATIVE_RE = re.compile(r"now(?:([+-])(\d+)([dhms]))?", re.IGNORECASE)
_UNIT_MS = {"d": 86_400_000, "h": 3_600_000, "m": 60_000, "s": 1000}


class QuerySyntaxError(ValueError):
    """An ``aq`` the emulator cannot read; the message says what and where."""


@dataclass(frozen=True, slots=True)
class Value:
    """A literal as written: ``quoted`` tells ``"2024/01/01"`` from ``2024/01/01`` (both read as a date by a date
    field)."""

    text: str
    quoted: bool = False


@dataclass(frozen=True, slots=True)
class Term:
    """``@field op values``; ``op`` is ``""`` for a bare ``@field`` (the field exists)."""

    field: str
    op: str
    values: tuple[Value, ...] = ()


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    child: Node


Node = Term | And | Or | Not


def parse(aq: str) -> Node:
    """The syntax tree of ``aq``; ``QuerySyntaxError`` saying what is wrong."""
    parser = _Parser(aq)
    node = parser.and_expr()
    parser.skip_space()
    if parser.pos < len(aq):
        raise QuerySyntaxError(f"unexpected {aq[parser.pos :]!r} at offset {parser.pos}")
    return node


class _Parser:
    __slots__ = ("pos", "text")

    def __init__(self, text: str) -> None:
        self.text, self.pos = text, 0

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def keyword(self, word: str) -> bool:
        """Consume ``word`` when it stands alone at the cursor (followed by a space, ``(`` or ``@``)."""
        self.skip_space()
        end = self.pos + len(word)
        if self.text.startswith(word, self.pos) and (end == len(self.text) or self.text[end] in " \t\r\n(@"):
            self.pos = end
            return True
        return False

    def at_end_of_group(self) -> bool:
        self.skip_space()
        return self.pos >= len(self.text) or self.text[self.pos] == ")"

    def and_expr(self) -> Node:
        children = [self.or_expr()]
        while not self.at_end_of_group():
            self.keyword("AND")
            children.append(self.or_expr())
        return children[0] if len(children) == 1 else And(tuple(children))

    def or_expr(self) -> Node:
        children = [self.unary()]
        while self.keyword("OR"):
            children.append(self.unary())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def unary(self) -> Node:
        if self.keyword("NOT"):
            return Not(self.unary())
        self.skip_space()
        if self.text.startswith("(", self.pos):
            start = self.pos
            self.pos += 1
            if self.at_end_of_group() and self.pos >= len(self.text):
                raise QuerySyntaxError(f"unclosed parenthesis at offset {start}")
            node = self.and_expr()
            if not self.text.startswith(")", self.pos):
                raise QuerySyntaxError(f"unclosed parenthesis at offset {start}")
            self.pos += 1
            return node
        return self.term()

    def term(self) -> Term:
        match = _FIELD_RE.match(self.text, self.pos)
        if match is None:
            found = self.text[self.pos : self.pos + 20] or "the end"
            raise QuerySyntaxError(
                f"expected a field expression (@field==value) at offset {self.pos}, found {found!r}: "
                "the emulator supports field expressions only, not free text"
            )
        self.pos = match.end()
        field = match[1].lower()
        self.skip_space()
        op = next((op for op in OPERATORS if self.text.startswith(op, self.pos)), "")
        if not op:
            return Term(field, "")
        self.pos += len(op)
        return Term(field, op, self.values())

    def values(self) -> tuple[Value, ...]:
        self.skip_space()
        if not self.text.startswith("(", self.pos):
            return (self.value(),)
        self.pos += 1
        values = [self.value()]
        while True:
            self.skip_space()
            if self.text.startswith(")", self.pos):
                self.pos += 1
                return tuple(values)
            if not self.text.startswith(",", self.pos):
                raise QuerySyntaxError(f"expected , or ) at offset {self.pos}")
            self.pos += 1
            values.append(self.value())

    def value(self) -> Value:
        self.skip_space()
        start = self.pos
        if self.text.startswith('"', start):
            end = self.text.find('"', start + 1)
            if end < 0:
                raise QuerySyntaxError(f"unterminated string at offset {start}")
            text = self.text[start + 1 : end]
            if "\\" in text:
                raise QuerySyntaxError(f"escapes in quoted values are not supported (at offset {start})")
            self.pos = end + 1
            return Value(text, quoted=True)
        match = _WORD_RE.match(self.text, start)
        if match is None:
            raise QuerySyntaxError(f'expected a value ("quoted" or a word) at offset {start}')
        self.pos = match.end()
        return Value(match[0])


def date_ms(text: str, now_ms: int) -> int | None:
    """``text`` as a date in epoch ms (UTC), or None when it is not one."""
    match = _DATE_RE.fullmatch(text)
    if match is not None:
        year, month, day, hour, minute, second = (int(part or 0) for part in match.groups())
        if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 60):
            return None
        return calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0)) * 1000
    match = _RELATIVE_RE.fullmatch(text)
    if match is None:
        return None
    if match[1] is None:
        return now_ms
    delta = int(match[2]) * _UNIT_MS[match[3].lower()]
    return now_ms - delta if match[1] == "-" else now_ms + delta


def is_relative(node: Node) -> bool:
    """Whether ``node`` holds a ``now…`` value (its meaning moves with the clock)."""
    if isinstance(node, Term):
        return any(_RELATIVE_RE.fullmatch(value.text) for value in node.values)
    if isinstance(node, Not):
        return is_relative(node.child)
    return any(is_relative(child) for child in node.children)
