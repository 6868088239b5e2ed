"""spaCy's named-entity recogniser, decoded for a whole batch of notes at once.

spaCy's NER is a greedy transition-based parser (BILUO moves). Its C loop re-checks the validity of
every one of the 74 moves for every token one state at a time; with the small English model that
loop costs as much as the neural network itself. Here the same network (spaCy's own tok2vec and
"lower" layers, run by thinc) feeds a decoder that moves every document of a batch one token
forward per step with array operations: the same features, the same sums in the same order, the
same validity rules and the same first-maximum choice, hence the same entities. The equivalence
is tested against spaCy's own NER (``tests/records/test_ner_decode.py``).

One difference is by design: the full spaCy pipeline runs its dependency parser first, and NER
refuses to extend an entity across a sentence boundary that the parser found. Without the parser
(which de-identification does not otherwise need) no such boundary exists, exactly as in spaCy
with the parser disabled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from thinc.api import NumpyOps

from strongroom.deid.engine.ner_network import TokenVectors, UnsupportedNetwork

_BEGIN, _IN, _LAST, _UNIT, _OUT = range(5)
_MOVE_CODES = {"B": _BEGIN, "I": _IN, "L": _LAST, "U": _UNIT}


@dataclass(frozen=True)
class _Moves:
    kind: np.ndarray  # (n_classes,) one of _BEGIN.._OUT
    label: np.ndarray  # (n_classes,) label id, 0 for O (and for a label-less move)
    names: tuple[str, ...]  # label id -> label name ("" for 0)


def _moves_of(ner: Any) -> _Moves:
    moves = ner.moves
    names: list[str] = [""]
    kind, label = [], []
    for i in range(moves.n_moves):
        name = moves.get_class_name(i)
        if name == "O" or "-" not in name:
            kind.append(_OUT)
            label.append(0)
            continue
        move, entity = name.split("-", 1)
        if entity not in names:
            names.append(entity)
        kind.append(_MOVE_CODES[move])
        label.append(names.index(entity) if entity else 0)
    return _Moves(np.array(kind), np.array(label), tuple(names))


class _BlasOps(NumpyOps):
    """thinc's numpy ops with matrix products by numpy's BLAS (OpenBLAS): about twice as fast as
    thinc's bundled BLIS kernels on this hardware (the network is three quarters products)."""

    name = "numpy-blas"

    def gemm(  # type: ignore[override]
        self,
        x: np.ndarray,
        y: np.ndarray,
        *,
        out: np.ndarray | None = None,
        trans1: bool = False,
        trans2: bool = False,
    ) -> np.ndarray:
        a = x.T if trans1 else x
        b = y.T if trans2 else y
        if out is None:
            return np.matmul(a, b)
        return np.matmul(a, b, out=out)


def _on_blas(layer: Any) -> Any:
    """A copy of a thinc layer on ``_BlasOps`` (the pipeline's own layer keeps its ops)."""
    copy = layer.copy()
    ops = _BlasOps()
    for node in copy.walk():
        node.ops = ops
    return copy


def _token_vectors(tok2vec: Any) -> Any:
    """docs -> (n_tokens, width): ``TokenVectors`` where it knows the network, thinc otherwise."""
    try:
        return TokenVectors(tok2vec)
    except UnsupportedNetwork:
        return _on_blas(tok2vec).predict


class EntityDecoder:
    """Sets ``doc.ents`` on tokenized docs the way spaCy's ``ner`` component does."""

    def __init__(self, ner: Any) -> None:
        if ner.model.attrs.get("unseen_classes"):
            raise ValueError("NER model with unseen classes: decode it with spaCy itself")
        self._ner = ner
        self._tok2vec = _token_vectors(ner.model.get_ref("tok2vec"))
        self._lower = _on_blas(ner.model.get_ref("lower"))
        upper = ner.model.get_ref("upper")
        self._upper_w = upper.get_param("W")  # (n_classes, n_hidden)
        self._upper_b = upper.get_param("b")  # (n_classes,)
        self._lower_b = self._lower.get_param("b")  # (n_hidden, n_pieces)
        self._moves = _moves_of(ner)
        self._masks = self._validity_masks()
        self._ops = self._lower.ops

    def __call__(self, docs: list[Any]) -> list[Any]:
        docs = list(docs)
        live = [d for d in docs if len(d)]
        if live:
            for doc, spans in zip(live, self._decode(live), strict=True):
                self._set_ents(doc, spans)
        return docs

    def _set_ents(self, doc: Any, spans: list[tuple[int, int, int]]) -> None:
        from spacy.tokens import Span

        names = self._moves.names
        doc.set_ents(
            [Span(doc, start, end, label=names[lab]) for start, end, lab in spans],
            default="outside",
        )

    def _decode(self, docs: list[Any]) -> list[list[tuple[int, int, int]]]:
        tokvecs = self._tok2vec(docs)  # (n_tokens, width), docs one after another
        feats = self._lower.predict(tokvecs)  # (1 + n_tokens, 3, n_hidden, n_pieces); row 0 pads
        lengths = np.array([len(d) for d in docs])  # (n_docs,)
        offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])  # (n_docs,)
        is_space = np.concatenate([d.to_array("IS_SPACE") for d in docs]).astype(
            bool
        )  # (n_tokens,)
        kind, label = self._moves.kind, self._moves.label
        n = len(docs)
        open_label = np.zeros(n, dtype=np.int64)  # 0: no entity open
        ent_start = np.full(n, -1, dtype=np.int64)  # token index within the doc
        spans: list[list[tuple[int, int, int]]] = [[] for _ in range(n)]
        for k in range(int(lengths.max())):
            act = np.flatnonzero(lengths > k)  # (n_act,) docs with a token left
            b0 = offsets[act] + k  # (n_act,) global index of the current token
            is_open = open_label[act] > 0  # (n_act,)
            first = np.where(is_open, offsets[act] + ent_start[act], -1)  # entity's first token
            prev = np.where(is_open, b0 - 1, -1)  # the token before, inside the entity
            hidden = self._hidden(feats, b0, first, prev)  # (n_act, n_hidden)
            scores = self._ops.gemm(hidden, self._upper_w, trans2=True)  # (n_act, n_classes)
            scores += self._upper_b
            state = self._state(open_label[act], lengths[act] - k, is_space[b0])  # (n_act,)
            scores += self._masks[state]  # invalid moves -inf, valid ones unchanged (+0)
            guess = scores.argmax(axis=1)  # (n_act,) the first maximum among the valid moves
            g_kind, g_label = kind[guess], label[guess]  # (n_act,)
            opens = (g_kind == _BEGIN) | (g_kind == _UNIT)
            ent_start[act[opens]] = k
            open_label[act[opens]] = g_label[opens]
            closes = (g_kind == _LAST) | (g_kind == _UNIT)
            for i in act[closes]:
                spans[i].append((int(ent_start[i]), k + 1, int(open_label[i])))
            open_label[act[closes]] = 0
        return spans

    def _hidden(
        self, feats: np.ndarray, b0: np.ndarray, first: np.ndarray, prev: np.ndarray
    ) -> np.ndarray:
        """Maxout of the three precomputed features plus bias, summed in spaCy's order."""
        # -1 (no token) selects the padding row 0; token t is row t + 1
        summed = feats[b0 + 1, 0] + feats[first + 1, 1]  # (n_act, n_hidden, n_pieces)
        summed += feats[prev + 1, 2]
        summed += self._lower_b
        best = summed[:, :, 0]  # (n_act, n_hidden): maxout over the pieces, as two-way maxima
        for piece in range(1, summed.shape[2]):
            best = np.maximum(best, summed[:, :, piece])
        return best

    @staticmethod
    def _state(open_label: np.ndarray, remaining: np.ndarray, space: np.ndarray) -> np.ndarray:
        """Row of ``_masks`` for each document: (open label, another token follows, space)."""
        return open_label * 4 + (remaining >= 2) * 2 + space

    def _validity_masks(self) -> np.ndarray:
        """(n_labels * 4, n_classes): 0 where a move is valid in a state, -inf where not."""
        n_labels = len(self._moves.names)
        open_label = np.repeat(np.arange(n_labels), 4)  # (n_states,)
        remaining = np.tile([1, 1, 2, 2], n_labels)  # (n_states,) 2: another token follows
        space = np.tile([False, True], 2 * n_labels)  # (n_states,)
        valid = self._valid(open_label > 0, open_label, remaining, space)
        return np.where(valid, 0.0, -np.inf).astype(np.float32)

    def _valid(
        self,
        is_open: np.ndarray,
        open_label: np.ndarray,
        remaining: np.ndarray,
        space: np.ndarray,
    ) -> np.ndarray:
        """(n_act, n_classes) spaCy's BILUO validity, for documents without preset entities."""
        kind, label = self._moves.kind[None, :], self._moves.label[None, :]
        is_open, open_label = is_open[:, None], open_label[:, None]
        more = (remaining >= 2)[:, None]  # a token follows the current one
        space, labelled = space[:, None], label > 0
        same = label == open_label
        return (
            ((kind == _BEGIN) & ~is_open & more & labelled & ~space)
            | ((kind == _IN) & is_open & more & labelled & same)
            | ((kind == _LAST) & is_open & labelled & same)
            | ((kind == _UNIT) & ~is_open & labelled & ~space)
            | ((kind == _OUT) & ~is_open)
        )
