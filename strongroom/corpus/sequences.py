"""A person's records as up to `cap` token sequences, split at record boundaries.

The privacy unit is the person, not the sequence: DP-SGD samples a person once and clips the
gradient of the sum of all of their sequences' losses to C (training/book_keeping.py), so a
person may bring several sequences without changing the guarantee. Records are packed greedily,
one per line, into sequences of at most `max_seq_len` tokens (BOS + lines + EOS); a record that
does not fit in what is left of a sequence starts the next one, a record longer than a sequence
is cut (counted). The last allowed sequence takes everything left and is cut at `max_seq_len`,
so with `cap` 1 a person is exactly one text cut at `max_seq_len`: the corpus before this module,
byte for byte.

Layout: with `cap` 1 the tokens are [persons, T] (unchanged); with more, [persons, cap, T], a
person's unused sequences all PAD (they add no loss and no gradient). `as_persons` reads both.
Tests: tests/corpus/test_sequences.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from strongroom.corpus.tokenizer import PAD, encode

_SEPARATOR = 1  # "\n" between two records of one sequence: one byte
_FRAME = 2  # BOS and EOS around each sequence


@dataclass(frozen=True)
class PersonSequences:
    """One person's sequences and what did not fit (counts only)."""

    sequences: list[np.ndarray]  # 1..cap int16 arrays of at most max_seq_len tokens
    truncated: bool  # the history did not fit in `cap` sequences (bytes left out at the end)
    records_cut: int  # records of which some bytes were left out

    @property
    def tokens(self) -> int:
        return sum(len(s) for s in self.sequences)


def pack_person(lines: list[str], max_seq_len: int, cap: int) -> PersonSequences:
    """`lines` (one per record, in order) packed into at most `cap` sequences."""
    groups: list[list[str]] = []
    current: list[str] = []
    cut = 0
    index = 0
    while index < len(lines) and len(groups) < cap - 1:
        line = lines[index]
        size = _size([*current, line])
        if size <= max_seq_len:
            current.append(line)
            index += 1
        elif current:  # the record starts the next sequence
            groups.append(current)
            current = []
        else:  # longer than a sequence on its own: cut, alone
            groups.append([line])
            cut += 1
            index += 1
    rest = current + lines[index:]  # the last sequence: everything left, cut at max_seq_len
    truncated = False
    if rest or not groups:
        groups.append(rest)
        truncated = _size(rest) > max_seq_len
        cut += _records_past(rest, max_seq_len)
    sequences = [encode("\n".join(group), max_seq_len)[0] for group in groups]
    return PersonSequences(sequences, truncated, cut)


def _size(lines: list[str]) -> int:
    """Tokens of one sequence holding `lines`: BOS + bytes + separators + EOS."""
    body = sum(len(line.encode("utf-8")) for line in lines)
    return _FRAME + body + _SEPARATOR * max(len(lines) - 1, 0)


def _records_past(lines: list[str], max_seq_len: int) -> int:
    """Records of the last sequence whose bytes do not all fit before `max_seq_len`."""
    end = 1  # after BOS
    past = 0
    for line in lines:
        end += len(line.encode("utf-8"))
        past += end > max_seq_len
        end += _SEPARATOR
    return past


def stack_persons(persons: list[list[np.ndarray]], max_seq_len: int, cap: int) -> np.ndarray:
    """[persons, T] int16 when `cap` is 1, else [persons, cap, T]; PAD-filled."""
    out = np.full((len(persons), cap, max_seq_len), PAD, dtype=np.int16)
    for i, sequences in enumerate(persons):
        for j, ids in enumerate(sequences):
            out[i, j, : len(ids)] = ids
    return out[:, 0] if cap == 1 else out


def as_persons(tokens: np.ndarray) -> np.ndarray:
    """[persons, k, T] view of either layout ([persons, T] is k = 1)."""
    return tokens.reshape(len(tokens), -1, tokens.shape[-1])


def sequences_per_person(tokens: np.ndarray) -> int:
    """The layout's cap: 1 for [persons, T], k for [persons, k, T]."""
    return 1 if tokens.ndim == 2 else int(tokens.shape[1])
