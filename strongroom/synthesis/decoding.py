"""Batched sampling of whole persons' texts on the CPU, free or format-guided.

Every sample starts at BOS, as a training example does, and runs to EOS or to the model's context
length (then its last record is cut, and counted so by the parser). Rows of a batch advance one
token per step together, so they share one length and the key/value cache (model/cached.py)
needs no padding; a finished row leaves the batch.

Guided sampling (grammar.py) changes only which tokens may be drawn: a draw the format refuses
is counted and redrawn from the model's distribution without the refused tokens: the model's
next-token distribution renormalised over what the format allows, token by token (not the
model's distribution of whole texts conditioned on their being valid). Forced tokens (a column's name) are not drawn
at all. Both counts go to the report. Where the model gives every legal token zero probability
(an underflowed softmax, e.g. EOS where the context forces a note to close), the draw is uniform
over the legal tokens. Tests: tests/synthesis/test_grammar.py (guided and free).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import torch

from strongroom.corpus.tokenizer import BOS, EOS, PAD, decode
from strongroom.model.cached import KVCache, extend
from strongroom.model.gemma import GemmaDecoder
from strongroom.synthesis.grammar import Grammar, RowGrammar

log = logging.getLogger(__name__)
_FULL_TEST_AFTER = 8  # refusals in one step before every token is tested at once


@dataclass(frozen=True)
class Settings:
    temperature: float = 1.0  # 1.0, top_p 1.0: the model's own distribution (fidelity)
    top_p: float = 1.0
    batch_size: int = 256


@dataclass(frozen=True)
class Generated:
    text: str
    complete: bool  # ended with EOS (False: cut at the context length)


@dataclass
class Counts:
    """What the format changed: tokens forced, draws refused and redrawn, tokens drawn."""

    drawn: int = 0
    forced: int = 0
    refused: int = 0
    closed: int = 0  # values ended where the context left room for no more of them
    relaxed: int = 0  # values whose rules left no legal token, held to their shape alone


def _distribution(logits: torch.Tensor, settings: Settings) -> torch.Tensor:
    """Temperature and nucleus over a batch [B, V]; PAD and BOS are never emitted."""
    logits = logits / max(settings.temperature, 1e-5)
    logits[:, [PAD, BOS]] = -float("inf")
    probs = torch.softmax(logits, -1)  # [B, V]
    if settings.top_p >= 1.0:
        return probs
    ordered, order = torch.sort(probs, descending=True, dim=-1)  # [B, V]
    before = torch.cumsum(ordered, -1) - ordered  # [B, V] mass ranked above
    kept = torch.zeros_like(probs).scatter(-1, order, (before < settings.top_p).to(probs.dtype))
    return probs * kept / (probs * kept).sum(-1, keepdim=True)


def _constrained(
    row: RowGrammar,
    draw: int,
    probs: torch.Tensor,
    full: Callable[[], torch.Tensor],
    gen: torch.Generator,
    counts: Counts,
) -> int:
    """The row's token: forced, or the model's draw if the format takes it, else a redraw
    (from the nucleus without the refused tokens; from the whole distribution, `full()`, when
    the nucleus holds no legal token)."""
    forced = row.forced()
    if forced is not None:
        counts.forced += 1
        return forced
    counts.drawn += 1
    mask = row.choices()
    if mask is None:  # a value: test the draw, mask what is refused
        refused: list[int] = []
        while not row.accepts(draw):
            counts.refused += 1
            refused.append(draw)
            p = probs.clone()
            if len(refused) >= _FULL_TEST_AFTER:
                p = p * row.allowed()
            else:
                p[refused] = 0.0
            if float(p.sum()) <= 0.0:
                p = _legal(full(), row.allowed())
            draw = int(torch.multinomial(p, 1, generator=gen))
        return draw
    if bool(mask[draw]):
        return draw
    counts.refused += 1
    p = probs * mask
    if float(p.sum()) <= 0.0:
        p = _legal(full(), mask)
    return int(torch.multinomial(p, 1, generator=gen))


def _legal(probs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The model's distribution over the legal tokens; uniform over them where the model gives
    them all zero (an underflowed softmax, e.g. EOS where a note must close)."""
    p = probs * mask
    return p if float(p.sum()) > 0.0 else mask.to(probs.dtype)


def _whole(logits: torch.Tensor, slot: int, temperature: float) -> torch.Tensor:
    """One row's distribution without the nucleus cut [V]."""
    return _distribution(logits[slot : slot + 1].clone(), Settings(temperature=temperature))[0]


@torch.no_grad()
def _batch(
    model: GemmaDecoder,
    size: int,
    settings: Settings,
    gen: torch.Generator,
    grammar: Grammar | None,
    counts: Counts,
) -> list[Generated]:
    max_len = model.cfg.max_seq_len
    rows = [RowGrammar(grammar, max_len) if grammar is not None else None for _ in range(size)]
    tokens: list[list[int]] = [[] for _ in range(size)]
    done: list[bool | None] = [None] * size  # None: running; True: EOS; False: cut
    active = list(range(size))
    cache = KVCache()
    logits = extend(model, torch.full((size, 1), BOS, dtype=torch.long), cache)  # [b, V]
    while active:
        probs = _distribution(logits, settings)  # [b, V]
        draws = torch.multinomial(probs, 1, generator=gen)[:, 0].tolist()
        keep, fed = [], []
        for slot, i in enumerate(active):
            row = rows[i]
            token = draws[slot]
            if row is not None:
                full = partial(_whole, logits, slot, settings.temperature)
                token = _constrained(row, token, probs[slot], full, gen, counts)
                row.advance(token)
            if token == EOS:
                done[i] = True
                continue
            tokens[i].append(token)
            if 1 + len(tokens[i]) >= max_len:
                done[i] = False  # BOS + text fill the context: cut
                continue
            keep.append(slot)
            fed.append(token)
        if not keep:
            break
        if len(keep) < len(active):
            cache.select(torch.tensor(keep))
        active = [active[slot] for slot in keep]
        logits = extend(model, torch.tensor(fed, dtype=torch.long)[:, None], cache)
    counts.relaxed += sum(row.relaxed for row in rows if row is not None)
    counts.closed += sum(row.closed for row in rows if row is not None)
    return [Generated(decode(t), bool(d)) for t, d in zip(tokens, done, strict=True)]


def generate(
    model: GemmaDecoder,
    count: int,
    *,
    settings: Settings,
    generator: torch.Generator,
    grammar: Grammar | None = None,
    counts: Counts | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[Generated]:
    """`count` persons' texts in batches; `grammar` guides the format (None: free sampling)."""
    counts = counts if counts is not None else Counts()
    out: list[Generated] = []
    started = time.monotonic()
    while len(out) < count:
        size = min(settings.batch_size, count - len(out))
        out.extend(_batch(model, size, settings, generator, grammar, counts))
        if progress is not None:
            progress(len(out))
        log.info("sampled %d of %d persons (%.0f s)", len(out), count, time.monotonic() - started)
    return out
