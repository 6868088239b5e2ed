"""The record format as a token-level grammar, for format-guided sampling.

What is constrained (and reported as such):
- the structure of `serialize_unit`'s text: column names, their order, `: ` and `; `; a
  nullable column may be left out, as the corpus leaves a None out, a non-nullable one may not;
- each value's bytes to its released column's shape (released.py `value_shape`: allowed set,
  pattern or named format, else the type's form with the contract's numeric range or calendar
  dates, else text up to max_length);
- the contract's pair checks between text-ordered columns (pairs.py), against the value already
  written in the record;
- the end: every record must fit in the model's context. A record, a column or a value byte is
  taken only while the context left still holds the shortest way to finish the record (the
  remaining non-nullable columns at their widest bounded form, a free-text value of one byte,
  EOS). So a free-text value that would run into the context is closed there instead, and a
  new record (`\\n`) starts only while the context left holds 1.25 times this person's longest
  record so far (the demo cuts 86% of its training persons at the context).
What is not constrained: which values (within those shapes), check digits, user expectations,
numeric pair checks, the age checks, the words of free text, the number of records.

Where the rules leave no legal token (a shape the rules cannot finish), the value is relaxed to
its shape alone (`relaxed`, reported): the record may then be cut, and is counted as a failure.

A row's `RowGrammar` is advanced token by token: `forced()` (one legal token), `choices()`
(a mask over the vocabulary) or `accepts(token)` (a value byte, checked by a partial regular
expression match). Tests: tests/synthesis/test_grammar.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import regex
import torch

from strongroom.corpus.tokenizer import EOS, VOCAB_SIZE
from strongroom.records.contract import ColumnSpec, Contract
from strongroom.synthesis.pairs import Order, can_reach, holds, order_rules
from strongroom.synthesis.record_text import NAME_END, SEPARATOR
from strongroom.synthesis.released import FREE_TEXT_CAP, compile_shape, value_shape

NEWLINE = ord("\n")
ROOM_FACTOR = 1.25
UTF8_TAIL = 3  # continuation bytes a UTF-8 lead byte may still need
_CONTROL = {*range(0, 9), *range(11, 32), 127}  # the contract's no_control_characters, less \n
Options = dict[tuple[int, ...], int]


@dataclass(frozen=True)
class Column:
    name: str
    nullable: bool
    shape: regex.Pattern[str]
    any_text: bool  # free text: non-ASCII bytes allowed (UTF-8 of any character)
    widest: int  # tokens the value may take at most, once entered (1 for free text: it may close)


def _widest(shape: str, spec: ColumnSpec, any_text: bool) -> int:
    """Free text can close after any byte; a bounded shape needs up to its widest match."""
    if any_text:
        return 1
    try:
        widest = re._parser.parse(shape).getwidth()[1]  # type: ignore[attr-defined]
    except re.error:  # a `regex`-only construct: the column's stated cap
        widest = spec.max_length or FREE_TEXT_CAP
    return min(widest, spec.max_length or FREE_TEXT_CAP, FREE_TEXT_CAP)


class Grammar:
    """The format of one contract's released columns; shared by every row."""

    def __init__(self, released: Contract, columns: list[str]) -> None:
        self.columns = []
        for name in columns:
            spec = released.columns[name]
            shape = value_shape(spec)
            text_like = spec.type == "string" and spec.allowed is None and spec.pattern is None
            any_text = text_like and not spec.format
            widest = _widest(shape, spec, any_text)
            self.columns.append(Column(name, spec.nullable, compile_shape(shape), any_text, widest))
        self.rules: dict[int, list[Order]] = order_rules(released, columns)
        self.ends = {k: frozenset(o[0] for o in self.options(k)) for k in range(len(columns))}

    @cache  # noqa: B019 - one grammar per run, a handful of keys
    def options(self, after: int) -> Options:
        """What may follow column `after` (-1: a record's start): token strings -> the column
        whose value comes next, or -1 for a new record, -2 for the end."""
        out: Options = {}
        lead = SEPARATOR if after >= 0 else ""
        for k in range(after + 1, len(self.columns)):
            out[tuple(f"{lead}{self.columns[k].name}{NAME_END}".encode())] = k
            if not self.columns[k].nullable:
                break
        else:
            if after >= 0:
                out[(NEWLINE,)] = -1
                out[(EOS,)] = -2
        return out

    @cache  # noqa: B019
    def rest(self, after: int) -> int:
        """The fewest tokens that finish a record once column `after` is closed (-1: from the
        record's start), EOS included: the non-nullable columns left, at their widest."""
        tokens = 1
        lead = SEPARATOR if after >= 0 else ""
        for column in self.columns[after + 1 :]:
            if not column.nullable:
                tokens += len(f"{lead}{column.name}{NAME_END}".encode()) + column.widest
                lead = SEPARATOR
        return tokens

    def cost(self, option: tuple[int, ...], nxt: int) -> int:
        """Tokens from an option's first one to the record's end, at the fewest."""
        if nxt == -2:
            return 1
        if nxt == -1:
            return 1 + self.rest(-1)
        return len(option) + self.columns[nxt].widest + self.rest(nxt)


# UTF-8's well-formed sequences (Unicode 15, table 3-7): lead byte -> the range of the byte
# after it and how many continuation bytes follow in all; no overlongs, surrogates or > U+10FFFF
_SECOND = {
    **{b: (0x80, 0xBF, 1) for b in range(0xC2, 0xE0)},
    0xE0: (0xA0, 0xBF, 2),
    **{b: (0x80, 0xBF, 2) for b in (*range(0xE1, 0xED), 0xEE, 0xEF)},
    0xED: (0x80, 0x9F, 2),
    0xF0: (0x90, 0xBF, 3),
    **{b: (0x80, 0xBF, 3) for b in range(0xF1, 0xF4)},
    0xF4: (0x80, 0x8F, 3),
}


def utf8_missing(value: bytes) -> int:
    """Continuation bytes the last character of `value` (well-formed so far) still needs."""
    for back in range(1, min(4, len(value)) + 1):
        byte = value[-back]
        if byte < 0x80:
            return 0
        if byte in _SECOND:
            return max(_SECOND[byte][2] - (back - 1), 0)
    return 0


def utf8_prefix(value: bytes, token: int) -> bool:
    """Whether `value` (well-formed UTF-8 so far) + the byte is still well-formed."""
    missing = utf8_missing(value)
    if missing == 0:
        return token < 0x80 or token in _SECOND
    if not 0x80 <= token <= 0xBF:
        return False
    lead = value[-1]
    if lead in _SECOND:  # the second byte of a character has its own range
        low, high, _ = _SECOND[lead]
        return low <= token <= high
    return True


@cache
def _mask(tokens: frozenset[int]) -> torch.Tensor:
    mask = torch.zeros(VOCAB_SIZE, dtype=torch.bool)
    mask[list(tokens)] = True
    return mask


class RowGrammar:
    """One sample's position in the grammar."""

    def __init__(self, grammar: Grammar, max_len: int) -> None:
        self.g = grammar
        self.max_len = max_len
        self.length = 1  # BOS; also the position of the next token
        self.record_start = 1
        self.longest = 0
        self.done = False
        self.relaxed = 0  # values whose rules left no legal token
        self.closed = 0  # free-text values ended where no further byte fitted (the model may agree)
        self._relax = False  # this value: held to its shape alone
        self._stuck = False  # this value: not even that (a safeguard)
        self.values: dict[int, str] = {}  # this record's values so far, by column
        self._cached: tuple[int, Options] | None = None
        self._choice(self._options(-1))

    # -- what fits: positions left, EOS included
    def _room(self) -> int:
        return self.max_len - self.length

    def _options(self, after: int) -> Options:
        """The options after column `after` that still fit, starting at this position."""
        room = self._room()
        longest = max(self.longest, self.length - self.record_start)
        fits = {
            o: n
            for o, n in self.g.options(after).items()
            if self.g.cost(o, n) <= room and (n != -1 or room >= ROOM_FACTOR * longest)
        }
        return fits or dict(self.g.options(after))  # nothing fits: the record will be cut

    def _ends(self) -> Options:
        """The options that may end the current value now (cached per position)."""
        assert self.column is not None
        if self._stuck:
            return self.g.options(self.column)
        if self._cached is None or self._cached[0] != self.length:
            self._cached = (self.length, self._options(self.column))
        return self._cached[1]

    # -- states: a choice among option strings, or a value of column `self.column`
    def _choice(self, pending: Options, consumed: tuple[int, ...] = ()) -> None:
        self.column = None
        self.pending = {o: n for o, n in pending.items() if o[: len(consumed)] == consumed}
        self.typed = consumed
        self._settle()

    def _settle(self) -> None:
        """Finish an option once its whole string is typed."""
        for option, nxt in self.pending.items():
            if option == self.typed:
                if nxt == -2:
                    self.done = True
                elif nxt == -1:
                    self._end_record()
                    self._choice(self._options(-1))
                else:
                    self.column, self.value = nxt, b""
                    self._relax = self._stuck = False
                return

    def _end_record(self) -> None:
        self.longest = max(self.longest, self.length - self.record_start)
        self.record_start = self.length
        self.values = {}

    def _next_tokens(self) -> frozenset[int]:
        n = len(self.typed)
        return frozenset(option[n] for option in self.pending)

    # -- a value's rules
    def _fits_after(self, token: int) -> bool:
        """A value byte: after it, the record can still be finished in the context."""
        if self._relax:
            return True
        assert self.column is not None
        tail = UTF8_TAIL if token >= 0xC0 else 0
        return self._room() - 1 >= tail + self.g.rest(self.column)

    def _ordered(self, text: str, *, final: bool) -> bool:
        """The pair rules on this value against the record's earlier values."""
        if self._relax:
            return True
        assert self.column is not None
        for rule in self.g.rules.get(self.column, []):
            other = self.values.get(rule.other)
            if other is None:  # left out (nullable): validation skips the pair too
                continue
            if not (holds(text, other, rule) if final else can_reach(text, other, rule)):
                return False
        return True

    def _closes(self) -> bool:
        """The value may end here: whole UTF-8, its shape, the pair rules."""
        assert self.column is not None
        if utf8_missing(self.value):
            return False
        text = self._text()
        shape = self.g.columns[self.column].shape
        return bool(text) and shape.fullmatch(text) is not None and self._ordered(text, final=True)

    # -- the decoder's interface
    def forced(self) -> int | None:
        if self.column is not None:
            return None
        tokens = self._next_tokens()
        return next(iter(tokens)) if len(tokens) == 1 else None

    def choices(self) -> torch.Tensor | None:
        """The legal tokens of a choice state as a mask [V]; None in a value."""
        return None if self.column is not None else _mask(self._next_tokens())

    def accepts(self, token: int) -> bool:
        if self.column is None:
            return token in self._next_tokens()
        column = self.g.columns[self.column]
        if token in self.g.ends[self.column]:  # never a value byte, even where it may not end
            if self._stuck:
                return True
            return any(o[0] == token for o in self._ends()) and self._closes()
        if token >= 256 or token == NEWLINE or token in _CONTROL or not self._fits_after(token):
            return False
        if not utf8_prefix(self.value, token):
            return False
        if token >= 0x80:
            if not column.any_text:
                return False
            # a lead byte starts one more character: it counts against the length cap (any
            # non-ASCII character stands for it; free text's shape takes them all alike)
            text = self._text() + ("\u00e9" if token >= 0xC0 else "")
        else:
            text = self._text() + chr(token)
        return column.shape.fullmatch(text, partial=True) is not None and self._ordered(
            text, final=False
        )

    def advance(self, token: int) -> None:
        if self.column is None:
            self.length += 1
            self.typed = (*self.typed, token)
            self.pending = {
                o: n for o, n in self.pending.items() if o[: len(self.typed)] == self.typed
            }
            self._settle()
            return
        if token in self.g.ends[self.column]:
            free = self.g.columns[self.column].any_text
            self.closed += free and not self._fits_after(ord(" "))
            ends = self._ends()  # as `accepts` saw them, at this token's position
            self.values[self.column] = self._text()
            self.length += 1
            self._choice(ends, consumed=(token,))
            return
        self.length += 1
        self.value += bytes([token])

    def _text(self) -> str:
        return self.value.decode("utf-8", errors="ignore")

    def allowed(self) -> torch.Tensor:
        """Every legal token now, tested one by one (after repeated refusals in a value). If the
        value's rules leave none, the value is held to its shape alone (counted in `relaxed`)."""
        mask = torch.tensor([self.accepts(t) for t in range(VOCAB_SIZE)], dtype=torch.bool)
        if bool(mask.any()) or self.column is None:
            return mask
        if not self._relax:
            self._relax, self.relaxed = True, self.relaxed + 1
            return self.allowed()
        # nothing even so (not seen; a safeguard): the value ends here, validation judges it
        self._stuck = True
        return _mask(self.g.ends[self.column])
