"""Read CSV, JSON Lines and Parquet in chunks of rows, every value as text.

Memory stays bounded by the chunk size whatever the file size: a reader holds one chunk of rows
(`ReadOptions.chunk_rows`) plus one CSV field at most `ReadOptions.max_field_bytes`. Each kept row
carries its source and line (row number for Parquet) so that validation can name it; rows that
cannot be parsed into the contract's columns come back as `Reject`s with the raw text and a reason,
to be quarantined, never dropped. Reasons are codes, never values.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from strongroom.errors import RecordError, capped, listed, looks_like_name, short_hash
from strongroom.records.contract import Contract
from strongroom.records.sources import SourceFile

LINE = "__line__"  # 1-based line where the row starts (CSV, JSONL) or row number (Parquet)
SOURCE = "__source__"  # the file the row came from
_UNDECODABLE = re.compile("[\udc80-\udcff]")  # bytes that were not valid in the encoding


@dataclass(frozen=True)
class ReadOptions:
    encoding: str = "utf-8"  # text files; a UTF-8 byte-order mark is skipped
    delimiter: str | None = None  # CSV; None: tab for .tsv, else comma
    format: str | None = None  # csv | parquet | jsonl; None: from the file ending
    chunk_rows: int = 5000  # rows held in memory at once
    max_field_bytes: int = 64 << 20  # one CSV field larger than this is an error


@dataclass(frozen=True)
class Reject:
    line: int
    reason: str  # a code such as ragged_row:3_of_17, never a value
    raw: str  # the row's text as read, for the data steward (stays in the quarantine)


@dataclass
class Chunk:
    table: pa.Table  # contract columns as strings, then SOURCE and LINE
    rejects: list[Reject] = field(default_factory=list)


def map_columns(names: list[str], contract: Contract, where: str) -> list[str]:
    """Source column names -> contract names, ignoring case and surrounding spaces.

    Missing, unexpected and duplicate columns are all errors, reported together: an undeclared
    column may hold identifiers, so it is never passed through or silently skipped. The source's
    names are never echoed as read: a file without its header row has a patient's values there.
    """
    wanted = {name.casefold(): name for name in contract.columns}
    mapped = [wanted.get(n.strip().lstrip("\ufeff").casefold(), "") for n in names]
    problems = []
    if missing := [c for c in contract.columns if c not in mapped]:
        problems.append(f"missing column(s) {listed([repr(c) for c in missing])}")
    if extra := [(i, n) for i, (n, m) in enumerate(zip(names, mapped, strict=True), 1) if not m]:
        problems.append(_unknown_columns(extra, contract, header_found=any(mapped)))
    if twice := sorted({m for m in mapped if m and mapped.count(m) > 1}):
        problems.append(
            f"column(s) given more than once (ignoring case): {listed([repr(t) for t in twice])}"
        )
    if problems:
        raise RecordError(capped("; ".join(problems)), path=where)
    return mapped


def _unknown_columns(extra: list[tuple[int, str]], contract: Contract, header_found: bool) -> str:
    """Columns not in the contract, by name only when the row is a header and the name looks like
    one; else by position (1-based), and a short hash only when the row is a header."""
    if not header_found:
        # No field names a contract column: most likely the header row is missing and these
        # are a record's values. Even a hash of a short value (an SSN) could be reversed.
        return (
            f"the first row's {len(extra)} field(s) name no column of contract "
            f"{contract.name!r}: is the header row missing? (fields not shown: they may be data)"
        )
    shown = [
        repr(name) if looks_like_name(name) else f"#{position} {short_hash(name)}"
        for position, name in extra
    ]
    return f"column(s) not in contract {contract.name!r}: {listed(shown)}"


def read_chunks(source: SourceFile, contract: Contract, options: ReadOptions) -> Iterator[Chunk]:
    """The rows of one file as chunks of at most `options.chunk_rows` rows."""
    if source.format == "parquet":
        yield from _parquet_chunks(source, contract, options)
        return
    encoding = "utf-8-sig" if options.encoding.lower() in ("utf-8", "utf8") else options.encoding
    try:
        with source.open_stream() as stream:
            text = io.TextIOWrapper(stream, encoding=encoding, errors="surrogateescape", newline="")
            if source.format == "csv":
                yield from _csv_chunks(text, source, contract, options)
            else:
                yield from _jsonl_chunks(text, source, contract, options)
    except LookupError:
        raise RecordError(
            capped(f"unknown encoding {options.encoding!r}"), path=source.display
        ) from None
    except (pa.ArrowException, OSError, EOFError) as error:  # e.g. a truncated .gz
        raise RecordError(
            f"cannot read {source.format} file ({type(error).__name__})", path=source.display
        ) from None


class _Batcher:
    """Collects kept rows and rejects; emits a Chunk every `chunk_rows` rows."""

    def __init__(self, source: SourceFile, contract: Contract, options: ReadOptions) -> None:
        self.source, self.columns, self.size = source, list(contract.columns), options.chunk_rows
        self.rows: list[list[str | None]] = []
        self.lines: list[int] = []
        self.rejects: list[Reject] = []

    def add(self, line: int, values: list[str | None]) -> Chunk | None:
        self.rows.append(values)
        self.lines.append(line)
        return self.flush() if len(self.rows) >= self.size else None

    def reject(self, line: int, reason: str, raw: str) -> None:
        self.rejects.append(Reject(line, reason, raw.encode("utf-8", "replace").decode()))

    def flush(self) -> Chunk:
        arrays = [
            pa.array([row[i] for row in self.rows], pa.string()) for i in range(len(self.columns))
        ]
        arrays.append(pa.array([self.source.display] * len(self.rows), pa.string()))
        arrays.append(pa.array(self.lines, pa.int64()))
        chunk = Chunk(pa.table(arrays, names=[*self.columns, SOURCE, LINE]), self.rejects)
        self.rows, self.lines, self.rejects = [], [], []
        return chunk


def _check_decoded(values: Iterable[str], names: list[str], source: SourceFile, line: int) -> None:
    for value, name in zip(values, names, strict=False):
        if isinstance(value, str) and _UNDECODABLE.search(value):
            raise RecordError(
                "not valid text in the given encoding; pass the file's encoding "
                "(for example --encoding cp1252)",
                path=source.display,
                row=line,
                column=name,
            )


def _recording(text: io.TextIOBase, consumed: list[str]) -> Iterator[str]:
    for physical in text:
        consumed.append(physical)
        yield physical


def _csv_chunks(
    text: io.TextIOBase, source: SourceFile, contract: Contract, options: ReadOptions
) -> Iterator[Chunk]:
    csv.field_size_limit(options.max_field_bytes)
    delimiter = options.delimiter or ("\t" if ".tsv" in source.path.lower() else ",")
    consumed: list[str] = []  # physical lines of the row being parsed: the raw text of a reject
    reader = csv.reader(_recording(text, consumed), delimiter=delimiter, strict=True)
    try:
        header = next(reader, None)
    except csv.Error:
        # The csv module's message may quote the text; say only where it stopped.
        raise RecordError(
            "the header row cannot be parsed as CSV (bad quoting, or a field too large)",
            path=source.display,
            row=1,
        ) from None
    if not header:
        raise RecordError("empty file: no header row", path=source.display)
    # Header fields are located by position: without a header row they are a record's values.
    _check_decoded(header, [f"#{i}" for i in range(1, len(header) + 1)], source, 1)
    names = map_columns(header, contract, source.display)
    order = [names.index(c) for c in contract.columns]
    batch, start = _Batcher(source, contract, options), reader.line_num + 1
    while True:
        consumed.clear()
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            reason = "field_too_large" if "field larger" in str(error) else "malformed_quoting"
            batch.reject(start, reason, "".join(consumed))
            start = reader.line_num + 1
            continue
        line, start = start, reader.line_num + 1
        if not row:
            continue  # a blank line holds no record
        _check_decoded(row, names, source, line)
        if len(row) != len(names):
            batch.reject(line, f"ragged_row:{len(row)}_of_{len(names)}_fields", "".join(consumed))
            continue
        if chunk := batch.add(line, [row[i] if row[i] != "" else None for i in order]):
            yield chunk
    yield batch.flush()


def _json_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)  # numbers; NaN / Infinity come out as text that validation rejects


def _jsonl_chunks(
    text: io.TextIOBase, source: SourceFile, contract: Contract, options: ReadOptions
) -> Iterator[Chunk]:
    """One JSON object per line. The first object's keys must match the contract (else an error,
    as for a CSV header); a later line with other keys, bad JSON or nested values is rejected."""
    batch, keys_checked = _Batcher(source, contract, options), False
    for line, raw in enumerate(text, start=1):
        if not raw.strip():
            continue
        _check_decoded([raw], ["(line)"], source, line)
        try:
            record = json.loads(raw)
        except ValueError:
            batch.reject(line, "malformed_json", raw)
            continue
        if not isinstance(record, dict):
            batch.reject(line, "not_a_json_object", raw)
            continue
        if not keys_checked:
            map_columns(list(record), contract, f"{source.display}, line {line}")
            keys_checked = True
        values = _json_values(record, contract)
        if isinstance(values, str):
            batch.reject(line, values, raw)
        elif chunk := batch.add(line, values):
            yield chunk
    yield batch.flush()


def _json_values(record: dict[str, Any], contract: Contract) -> list[str | None] | str:
    """The contract's values from one object, or the reason it cannot be a row."""
    by_name = {k.strip().casefold(): v for k, v in record.items()}
    if len(by_name) != len(record):
        return "duplicate_keys"
    if set(by_name) != {c.casefold() for c in contract.columns}:
        return "keys_differ_from_contract"
    values = [by_name[c.casefold()] for c in contract.columns]
    if any(isinstance(v, dict | list) for v in values):
        return "nested_value"
    return [_json_text(v) for v in values]


def _parquet_chunks(
    source: SourceFile, contract: Contract, options: ReadOptions
) -> Iterator[Chunk]:
    try:
        handle = source.filesystem.open_input_file(source.path)
        parquet = pq.ParquetFile(handle, pre_buffer=False)  # buffered: the whole file
    except (pa.ArrowException, OSError) as error:
        raise RecordError(
            f"not a readable Parquet file, truncated or corrupt ({type(error).__name__})",
            path=source.display,
        ) from None
    schema = parquet.schema_arrow
    names = map_columns(schema.names, contract, source.display)
    for name in schema.names:
        kind = schema.field(name).type
        if pa.types.is_nested(kind):
            raise RecordError(
                f"nested type {kind} cannot be a record value", path=source.display, column=name
            )
    source_of = {target: name for name, target in zip(schema.names, names, strict=True)}
    first_row = 1
    try:
        for batch in parquet.iter_batches(batch_size=options.chunk_rows):
            arrays = [_as_text(batch.column(source_of[c]), source, c) for c in contract.columns]
            arrays.append(pa.array([source.display] * batch.num_rows, pa.string()))
            arrays.append(pa.array(range(first_row, first_row + batch.num_rows), pa.int64()))
            first_row += batch.num_rows
            yield Chunk(pa.table(arrays, names=[*contract.columns, SOURCE, LINE]))
    except (pa.ArrowException, OSError) as error:
        raise RecordError(
            f"Parquet data unreadable after row {first_row - 1}, truncated or corrupt "
            f"({type(error).__name__})",
            path=source.display,
        ) from None


def _as_text(array: pa.Array, source: SourceFile, column: str) -> pa.Array:
    """Arrow values as text; timestamps in ISO form, invalid UTF-8 in binary columns an error."""
    if pa.types.is_timestamp(array.type):
        return pc.strftime(array, format="%Y-%m-%dT%H:%M:%S")
    try:
        return array.cast(pa.string())
    except pa.ArrowException:
        raise RecordError(
            f"values of type {array.type} cannot be read as text",
            path=source.display,
            column=column,
        ) from None
