"""The cached decoder gives the model's own logits, position by position."""

from __future__ import annotations

import torch

from strongroom.model.cached import KVCache, extend
from strongroom.model.config import PRESETS
from strongroom.model.gemma import GemmaDecoder


def test_cached_steps_give_the_full_forwards_logits_at_every_position() -> None:
    torch.manual_seed(0)
    model = GemmaDecoder(PRESETS["tiny"]).eval()
    ids = torch.randint(0, 256, (3, 40))
    full = model(ids)  # [3, 40, V]
    cache = KVCache()
    first = extend(model, ids[:, :7], cache)  # a prompt of 7, then one token at a time
    torch.testing.assert_close(first, full[:, 6], rtol=1e-4, atol=1e-4)
    for t in range(7, 40):
        step = extend(model, ids[:, t : t + 1], cache)
        torch.testing.assert_close(step, full[:, t], rtol=1e-4, atol=1e-4)
    assert cache.length == 40


def test_selecting_rows_keeps_their_continuations() -> None:
    torch.manual_seed(1)
    model = GemmaDecoder(PRESETS["tiny"]).eval()
    ids = torch.randint(0, 256, (4, 12))
    full = model(ids)
    cache = KVCache()
    extend(model, ids[:, :11], cache)
    cache.select(torch.tensor([1, 3]))
    torch.testing.assert_close(
        extend(model, ids[[1, 3], 11:12], cache), full[[1, 3], 11], rtol=1e-4, atol=1e-4
    )
