"""Persons with several sequences: clipped as one person, against a batch-of-one loop.

The reference computes each person's gradient of the sum of their real sequences' losses with
plain autograd (padding sequences left out entirely), clips it to C and adds; book-keeping
clipping sees the persons' sequences in one [P k, T] batch with the unused ones all PAD.
"""

import copy
from dataclasses import replace

import numpy as np
import pytest
import torch

from strongroom.corpus.tokenizer import PAD
from strongroom.errors import ConfigError
from strongroom.model.config import preset
from strongroom.model.gemma import GemmaDecoder, SequenceLoss, shift
from strongroom.training import layer_grads
from strongroom.training.book_keeping import BookKeepingModule
from strongroom.training.dp_sgd import TrainSettings, train_dp
from strongroom.training.parts import build_parts
from tests.training.test_book_keeping import _clipped_sum, _plan, add_clipped_grads

CAP = 3
REAL = [1, 2, 3, 3, 1]  # real sequences of each person; the rest of the cap is PAD


def _persons(length: int, real: list[int] = REAL, cap: int = CAP) -> np.ndarray:
    """[P, cap, length] int16: random bytes, a PAD tail on some, unused sequences all PAD."""
    rng = np.random.default_rng(0)
    tokens = np.full((len(real), cap, length), PAD, dtype=np.int16)
    for person, count in enumerate(real):
        for seq in range(count):
            used = length - (seq % 2) * (length // 3)  # every other sequence padded at the end
            tokens[person, seq, :used] = rng.integers(0, 256, size=used)
    return tokens


def _reference(model, tokens: np.ndarray, real: list[int], clip: float):
    """Clipped sum and norms, one person at a time: autograd on the person's real sequences."""
    loss_fn = SequenceLoss(PAD, reduction="none")
    total = [torch.zeros_like(p) for p in model.parameters()]
    norms = []
    for person, count in enumerate(real):
        model.zero_grad()
        inputs, targets = shift(torch.from_numpy(tokens[person, :count].astype(np.int64)))
        loss_fn(model(inputs), targets).sum().backward()  # the sum of the sequences' losses
        norms.append(add_clipped_grads(model, total, clip))
    return total, torch.tensor(norms)


def _book_keeping(model, tokens: np.ndarray, clip: float):
    wrapped = BookKeepingModule(model)
    people, cap, length = tokens.shape
    flat = torch.from_numpy(tokens.reshape(people * cap, length).astype(np.int64))
    inputs, targets = shift(flat)  # [P cap, T-1], person-major
    with wrapped.one_pass():
        losses = SequenceLoss(PAD, reduction="none")(wrapped(inputs), targets)  # [P cap]
        norms = wrapped.clipped_backward(losses.view(people, cap).sum(1), clip)
    return [p.grad for p in model.parameters()], norms


# k T - k positions: 9 (every weight by ghost norm), 93 (projections and head instantiated,
# embedding by ghost norm: 259 rows > 93), 297 (everything instantiated)
@pytest.mark.parametrize("length", [4, 32, 100])
@pytest.mark.parametrize("clip", [0.05, 1e3], ids=["clipped", "unclipped"])
def test_persons_with_several_sequences_match_a_batch_of_one_loop(length, clip):
    torch.manual_seed(0)
    model = GemmaDecoder(replace(preset("tiny"), max_seq_len=length))
    d, rows = model.cfg.d_model, model.cfg.vocab_size
    positions = CAP * (length - 1)
    assert layer_grads.instantiates(positions, d, rows) == (length > 4)
    tokens = _persons(length)
    want, want_norms = _reference(copy.deepcopy(model), tokens, REAL, clip)
    got, norms = _book_keeping(model, tokens, clip)
    assert bool((want_norms > clip).all()) == (clip < 1)
    torch.testing.assert_close(norms, want_norms, rtol=1e-5, atol=0)
    for (name, _), g, w in zip(model.named_parameters(), got, want, strict=True):
        scale = float(w.abs().max())  # float32 sums in another order: 1e-6 of the largest entry
        torch.testing.assert_close(g, w, atol=1e-6 * scale, rtol=1e-4, msg=name)


def test_padding_sequences_add_nothing():
    """A person holding one real sequence and two PAD ones is clipped as that one sequence."""
    torch.manual_seed(0)
    model = GemmaDecoder(replace(preset("tiny"), max_seq_len=32))
    tokens = _persons(32, real=[1, 1])
    padded, padded_norms = _book_keeping(copy.deepcopy(model), tokens, 0.05)
    alone, alone_norms = _book_keeping(model, tokens[:, :1], 0.05)
    torch.testing.assert_close(padded_norms, alone_norms, rtol=1e-6, atol=0)
    for p, a in zip(padded, alone, strict=True):
        torch.testing.assert_close(p, a, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("autocast", [False, True], ids=["float32", "bf16"])
def test_one_person_with_many_sequences_moves_the_clipped_sum_by_at_most_c(autocast):
    """||S(D + x) - S(D)|| / C with 16 sequences a person, every person clipped; under bf16
    autocast too (norms and sums stay float32)."""
    clip, cap, people = 1e-3, 16, 64
    plan = _plan(people, people, clip)
    torch.manual_seed(0)
    model = GemmaDecoder(replace(preset("demo"), max_seq_len=64))
    tokens = _persons(64, real=[cap] * people, cap=cap)
    tokens[:] = tokens[:1]  # identical persons: the worst case for rounding
    parts = build_parts(model, tokens, plan, TrainSettings(seed=0, clipping="book_keeping"))
    batch = torch.from_numpy(tokens.astype(np.int64))  # [64, 16, 64]
    with_x = _clipped_sum(parts, batch, clip, autocast=autocast)
    without_x = _clipped_sum(parts, batch[:-1], clip, autocast=autocast)
    assert bool((parts.model.per_sample_gradient_norms > clip).all())
    sensitivity = float((with_x - without_x).norm()) / clip
    assert 1 - 1e-3 <= sensitivity <= 1 + 1e-5, sensitivity


def test_ghost_clipping_refuses_several_sequences_a_person():
    plan = _plan(5, 2, 1.0)
    model = GemmaDecoder(replace(preset("tiny"), max_seq_len=8))
    with pytest.raises(ConfigError, match="needs clipping book_keeping"):
        build_parts(model, _persons(8), plan, TrainSettings(seed=0, clipping="ghost"))


def test_training_draws_persons_with_all_their_sequences():
    """A short run on [units, k, T]: one batch entry per person, every step accounted."""
    from strongroom.privacy.plan import PrivacyParams, make_plan

    params = PrivacyParams(target_epsilon=3.0, delta=1e-3, batch_size=4, epochs=1.0)
    plan = make_plan(params, units=20, privacy_unit="patient")
    tokens = _persons(16, real=[1, 2, 3, 3] * 5)
    result = train_dp(tokens, replace(preset("tiny"), max_seq_len=16), plan, TrainSettings(seed=1))
    assert result.steps == plan.steps and max(result.batch_sizes) <= 20
    assert all(np.isfinite(result.losses))


def test_held_out_loss_is_per_token_over_all_of_a_persons_sequences():
    from strongroom.training.evaluate import person_losses

    torch.manual_seed(0)
    model = GemmaDecoder(replace(preset("tiny"), max_seq_len=16))
    tokens = _persons(16)  # [5, 3, 16]
    losses, counts = person_losses(model, tokens, batch_size=2)
    flat = tokens.reshape(-1, 16)
    seq_losses, seq_counts = person_losses(model, flat)  # one sequence at a time
    seq_losses, seq_counts = seq_losses.reshape(5, 3), seq_counts.reshape(5, 3)
    np.testing.assert_allclose(losses, (seq_losses * seq_counts).sum(1) / seq_counts.sum(1))
    assert (counts == seq_counts.sum(1)).all()
    first, _ = person_losses(model, tokens[:, 0])  # [N, T] as before: one sequence a person
    again, _ = person_losses(model, tokens[:, :1])
    np.testing.assert_array_equal(first, again)


def test_the_reference_trains_on_every_sequence_of_its_persons():
    from strongroom.training.reference import train_reference

    tokens = _persons(16, real=[1, 2, 3, 3] * 5)
    cfg = replace(preset("tiny"), max_seq_len=16)
    result = train_reference(
        tokens, cfg, steps=2, batch_size=4, settings=TrainSettings(seed=1), progress=False
    )
    assert result.steps == 2 and result.batch_sizes == [4, 4]
