"""The record format as a token-level grammar, for format-guided sampling.

What is constrained (and reported as such): the structure of `serialize_unit`'s text — column
names, their order, `: ` and `; ` — and each value's bytes to its released column's shape
(released.py `value_shape`: allowed set, pattern or named format, else the type's shape). A
nullable column may be left out, as the corpus leaves a None out; a non-nullable one may not.
What is not constrained: which values, numeric ranges, cross-column rules, the number of records,
free text. A new record (`\\n`) is allowed only while the context left holds 1.25 times this
person's longest record so far: the model's context is where a record would otherwise be cut
(the demo cuts 86% of its training persons there), and a cut record is a failure.

A row's `RowGrammar` is advanced token by token: `forced()` (one legal token), `choices()`
(a mask over the vocabulary) or `accepts(token)` (a value byte, checked by a partial regular
expression match). Tests: tests/synthesis/test_grammar.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import regex
import torch

from strongroom.corpus.tokenizer import EOS, VOCAB_SIZE
from strongroom.records.contract import Contract
from strongroom.synthesis.record_text import NAME_END, SEPARATOR
from strongroom.synthesis.released import compile_shape, value_shape

NEWLINE = ord("\n")
ROOM_FACTOR = 1.25
_CONTROL = {*range(0, 9), *range(11, 32), 127}  # the contract's no_control_characters, less \n


@dataclass(frozen=True)
class Column:
    name: str
    nullable: bool
    shape: regex.Pattern[str]
    any_text: bool  # free text: non-ASCII bytes allowed (UTF-8 of any character)


class Grammar:
    """The format of one contract's released columns; shared by every row."""

    def __init__(self, released: Contract, columns: list[str]) -> None:
        self.columns = []
        for name in columns:
            spec = released.columns[name]
            shape = value_shape(spec)
            text_like = spec.type == "string" and spec.allowed is None and spec.pattern is None
            self.columns.append(
                Column(name, spec.nullable, compile_shape(shape), text_like and not spec.format)
            )

    @cache  # noqa: B019 - one grammar per run, a handful of keys
    def options(self, after: int, newline: bool) -> dict[tuple[int, ...], int]:
        """What may follow column `after` (-1: a record's start): token strings -> the column
        whose value comes next, or -1 for a new record, -2 for the end."""
        out: dict[tuple[int, ...], int] = {}
        lead = SEPARATOR if after >= 0 else ""
        for k in range(after + 1, len(self.columns)):
            out[tuple(f"{lead}{self.columns[k].name}{NAME_END}".encode())] = k
            if not self.columns[k].nullable:
                break
        else:
            if after >= 0:
                if newline:
                    out[(NEWLINE,)] = -1
                out[(EOS,)] = -2
        return out


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
        self.length = 1  # BOS
        self.record_start = 1
        self.longest = 0
        self.done = False
        self._choice(-1, newline=False)

    # -- states: a choice among option strings, or a value of column `self.column`
    def _choice(self, after: int, *, newline: bool, consumed: tuple[int, ...] = ()) -> None:
        self.column = None
        self.after = after
        self.pending = {
            opt: nxt
            for opt, nxt in self.g.options(after, newline).items()
            if opt[: len(consumed)] == consumed
        }
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
                    self._choice(-1, newline=False)
                else:
                    self.column, self.value = nxt, b""
                return

    def _end_record(self) -> None:
        self.longest = max(self.longest, self.length - self.record_start)
        self.record_start = self.length

    def _room(self) -> bool:
        longest = max(self.longest, self.length - self.record_start)
        return self.max_len - self.length >= ROOM_FACTOR * longest

    def _next_tokens(self) -> frozenset[int]:
        n = len(self.typed)
        return frozenset(option[n] for option in self.pending)

    def _terminators(self) -> dict[tuple[int, ...], int]:
        assert self.column is not None
        return self.g.options(self.column, self._room())

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
        ends = {option[0] for option in self._terminators()}
        if token in ends:
            return bool(self.value) and column.shape.fullmatch(self._text()) is not None
        if token >= 256 or token == NEWLINE or token in _CONTROL:
            return False
        if token >= 0x80:
            return column.any_text
        text = self._text() + chr(token)
        return column.shape.fullmatch(text, partial=True) is not None

    def advance(self, token: int) -> None:
        if self.column is None:
            self.length += 1
            self.typed = (*self.typed, token)
            self.pending = {
                o: n for o, n in self.pending.items() if o[: len(self.typed)] == self.typed
            }
            self._settle()
            return
        room = self._room()  # as `accepts` saw it, before this token
        self.length += 1
        if token in {option[0] for option in self.g.options(self.column, room)}:
            self._choice(self.column, newline=room, consumed=(token,))
        else:
            self.value += bytes([token])

    def _text(self) -> str:
        return self.value.decode("utf-8", errors="ignore")

    def allowed(self) -> torch.Tensor:
        """Every legal token now, tested one by one (after repeated refusals in a value)."""
        mask = torch.zeros(VOCAB_SIZE, dtype=torch.bool)
        for token in range(VOCAB_SIZE):
            mask[token] = self.accepts(token)
        return mask
