"""Generated text back into records: the inverse of corpus/build.py `serialize_unit`.

A person's text is one line per record, each line `column: value` pairs joined by `; `, the
columns in the contract's order, a missing (None) value left out. Parsing walks a line from one
column name to the next: a value runs to the first `; NAME: ` whose NAME comes later in the
order, so a `; ` inside free text is kept (the corpus' own notes hold them). A line fails when it
does not start with a column name, or when a name comes twice or out of order (then the text
before it is not the value it claims to be). Failures are reported as counts and reasons, never
the text. Tests: tests/synthesis/test_record_text.py (round trip on de-identified demo records).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

SEPARATOR = "; "
NAME_END = ": "


@dataclass(frozen=True)
class ParsedText:
    """One generated text: the records that parsed and why the others did not."""

    records: list[dict[str, str | None]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # one reason per line that did not parse

    @property
    def lines(self) -> int:
        return len(self.records) + len(self.failures)


class RecordParser:
    """Parses lines for one ordered list of text columns."""

    def __init__(self, columns: list[str]) -> None:
        self.columns = columns
        self.order = {name: i for i, name in enumerate(columns)}
        names = "|".join(re.escape(c) for c in sorted(columns, key=len, reverse=True))
        self._first = re.compile(f"({names}){re.escape(NAME_END)}")
        self._next = re.compile(f"{re.escape(SEPARATOR)}({names}){re.escape(NAME_END)}")

    def parse_line(self, line: str) -> dict[str, str | None] | str:
        """The record, or the reason it does not parse (names and positions only)."""
        start = self._first.match(line)
        if start is None:
            return "line does not start with a column name"
        current, position = start.group(1), start.end()
        values: dict[str, str | None] = dict.fromkeys(self.columns)
        while True:
            nxt = next(
                (
                    m
                    for m in self._next.finditer(line, position)
                    if self.order[m.group(1)] > self.order[current]
                ),
                None,
            )
            if nxt is None:
                values[current] = line[position:]
                return values
            values[current] = line[position : nxt.start()]
            current, position = nxt.group(1), nxt.end()

    def parse(self, text: str, *, complete: bool = True) -> ParsedText:
        """Every line of `text`. `complete=False`: the text was cut at the model's context
        length, so its last line is an unfinished record and counts as a failure."""
        out = ParsedText()
        lines = text.split("\n")
        for i, line in enumerate(lines):
            if not complete and i == len(lines) - 1:
                out.failures.append("record cut at the model's context length")
                continue
            parsed = self.parse_line(line)
            if isinstance(parsed, str):
                out.failures.append(parsed)
            else:
                out.records.append(parsed)
        return out
