"""The token vectors of spaCy's NER (its own tok2vec), computed with numpy for a batch of docs.

thinc runs this network layer object by layer object, and its maxout kernel also computes the
arg-max that only training needs; with the small English model that bookkeeping costs more than
the matrix products. Here the same layers run as plain array code: the same hashed embeddings
(thinc's own hash and gather kernels), the same maxout, layer norm, window and residual steps,
the same zero padding between documents, and the products by numpy's BLAS. Two things are saved
besides: a token's embedding depends only on its four lexical features, so embeddings are kept
per feature row (a word seen once is not embedded again), and maxout weights are stored piece by
piece, so the maximum is two element-wise ``np.maximum`` calls.

Results agree with thinc's to float rounding (``tests/records/test_ner_network.py``); the
entities decoded from them are compared with spaCy's own NER in ``test_ner_decode.py``. A network
of another shape is refused with ``UnsupportedNetwork`` (``ner_decode`` then uses thinc).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from thinc.api import NumpyOps

# spaCy's HashEmbedCNN / MultiHashEmbed + MaxoutWindowEncoder, as thinc names the composition
_EMBED = (
    "extract_features>>list2ragged>>with_array(ints-getitem>>hashembed|ints-getitem>>hashembed|"
    "ints-getitem>>hashembed|ints-getitem>>hashembed)>>with_array(maxout>>layernorm>>dropout)"
    ">>ragged2list"
)
_BLOCK = "residual(expand_window>>maxout>>layernorm>>dropout)"
_CACHE_ROWS = 100_000  # embeddings kept (96 floats each: under 40 MB)
_OPS = NumpyOps()


class UnsupportedNetwork(ValueError):
    """The NER model's tok2vec is not the architecture this module computes."""


@dataclass(frozen=True)
class _Maxout:
    weights: np.ndarray  # (n_pieces * n_out, n_in), piece-major rows
    bias: np.ndarray  # (n_pieces * n_out,)
    n_out: int
    gain: np.ndarray  # (n_out,) layer norm scale
    shift: np.ndarray  # (n_out,) layer norm shift

    @classmethod
    def of(cls, maxout: Any, norm: Any) -> _Maxout:
        n_out, n_pieces, n_in = maxout.get_param("W").shape  # (n_out, n_pieces, n_in)
        weights = maxout.get_param("W").transpose(1, 0, 2).reshape(n_pieces * n_out, n_in)
        bias = maxout.get_param("b").T.reshape(n_pieces * n_out)  # (n_out, n_pieces) -> flat
        return cls(
            np.ascontiguousarray(weights),
            bias.copy(),
            n_out,
            norm.get_param("G"),
            norm.get_param("b"),
        )

    def __call__(self, x: np.ndarray) -> np.ndarray:
        y = x @ self.weights.T  # (n, n_pieces * n_out)
        y += self.bias
        n = self.n_out
        best = np.maximum(y[:, :n], y[:, n : 2 * n])  # (n, n_out)
        for start in range(2 * n, y.shape[1], n):
            np.maximum(best, y[:, start : start + n], out=best)
        return _layer_norm(best, self.gain, self.shift)  # (n, n_out)


def _layer_norm(x: np.ndarray, gain: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """thinc's LayerNorm forward; the row means as matrix-vector products (BLAS), which is
    several times faster than numpy's reductions over short rows and equal to float rounding."""
    average = np.full((x.shape[1], 1), 1.0 / x.shape[1], dtype=x.dtype)  # (width, 1)
    centred = x - x @ average  # (n, width)
    var = (centred * centred) @ average  # (n, 1)
    var += 1e-08
    centred *= var ** (-1.0 / 2.0)
    centred *= gain
    centred += shift
    return centred


class TokenVectors:
    """``tok2vec.predict(docs)`` for the NER tok2vec of spaCy's CNN pipelines, as one array."""

    def __init__(self, tok2vec: Any) -> None:
        try:
            (embed, encode), _, linear = tok2vec.layers[0].layers, *tok2vec.layers[1:]
        except (ValueError, IndexError):
            raise UnsupportedNetwork(f"unexpected tok2vec {tok2vec.name!r}") from None
        blocks = encode.layers[0].layers if encode.layers else []
        if embed.name != _EMBED or not blocks or any(b.name != _BLOCK for b in blocks):
            raise UnsupportedNetwork(f"unexpected tok2vec {tok2vec.name!r}")
        self._columns = embed.layers[0].attrs["columns"]
        self._hash = [  # (table, seed) per feature column, in column order
            (leaf.get_param("E"), leaf.attrs["seed"])
            for leaf in embed.walk()
            if leaf.name == "hashembed"
        ]
        mix = next(n for n in embed.walk() if n.name == "maxout>>layernorm")
        self._mix = _Maxout.of(*mix.layers)
        self._blocks = [
            (
                block.layers[0].layers[0].attrs["window_size"],
                _Maxout.of(*block.layers[0].layers[1].layers[0].layers),
            )
            for block in blocks
        ]
        self._pad = encode.attrs["pad"]
        self._out_w = linear.get_param("W")  # (n_out, width)
        self._out_b = linear.get_param("b")  # (n_out,)
        self._cache: dict[bytes, int] = {}  # feature row -> row of self._rows
        self._rows = np.zeros((1024, self._mix.n_out), dtype="f")  # (capacity, width)

    def __call__(self, docs: list[Any]) -> np.ndarray:
        lengths = [len(d) for d in docs]  # every doc has at least one token
        features = np.concatenate([d.to_array(self._columns) for d in docs])  # (n_tokens, 4)
        x = self._flatten(self._embeddings(features), lengths)  # (n_tokens + padding, width)
        for window, maxout in self._blocks:  # residual(expand_window >> maxout >> layernorm)
            x = x + maxout(_OPS.seq2col(x, window))
        x = self._unflatten(x, lengths)  # (n_tokens, width)
        y = x @ self._out_w.T  # (n_tokens, n_out)
        y += self._out_b
        return y

    def _embeddings(self, features: np.ndarray) -> np.ndarray:
        """(n_tokens, width): cached rows where the feature row was seen, new ones computed."""
        features = np.ascontiguousarray(features, dtype="uint64")
        raw = features.tobytes()
        step = features.shape[1] * 8
        keys = [raw[i : i + step] for i in range(0, len(raw), step)]
        new = {k: i for i, k in enumerate(keys) if k not in self._cache}
        if new:
            if len(self._cache) + len(new) > _CACHE_ROWS:  # a bounded cache: start again
                self._cache.clear()
                new = {k: i for i, k in enumerate(keys)}
            self._store(new, self._embed(features[list(new.values())]))
        return self._rows[[self._cache[k] for k in keys]]

    def _store(self, keys: dict[bytes, int], rows: np.ndarray) -> None:
        base = len(self._cache)
        if base + len(rows) > len(self._rows):  # grow by doubling: amortised copies
            grown = np.zeros((2 * (base + len(rows)), rows.shape[1]), dtype="f")
            grown[:base] = self._rows[:base]
            self._rows = grown
        self._rows[base : base + len(rows)] = rows
        self._cache.update((k, base + j) for j, k in enumerate(keys))

    def _embed(self, features: np.ndarray) -> np.ndarray:
        """thinc's MultiHashEmbed: four hashed embeddings concatenated, then maxout + norm."""
        parts = [
            _OPS.gather_add(
                table, _OPS.hash(np.ascontiguousarray(features[:, c]), seed) % len(table)
            )
            for c, (table, seed) in enumerate(self._hash)
        ]  # each (n, width)
        return self._mix(np.concatenate(parts, axis=1))  # (n, width)

    def _flatten(self, x: np.ndarray, lengths: list[int]) -> np.ndarray:
        """thinc's ``ops.flatten(..., pad)``: `pad` zero rows before, between and after docs."""
        pad = self._pad
        out = np.zeros((len(x) + pad * (len(lengths) + 1), x.shape[1]), dtype=x.dtype)
        out[self._token_rows(lengths)] = x
        return out

    def _unflatten(self, x: np.ndarray, lengths: list[int]) -> np.ndarray:
        return x[self._token_rows(lengths)]

    def _token_rows(self, lengths: list[int]) -> np.ndarray:
        """Row of each token in the padded array."""
        doc_of = np.repeat(np.arange(len(lengths)), lengths)  # (n_tokens,)
        return np.arange(sum(lengths)) + self._pad * (doc_of + 1)
