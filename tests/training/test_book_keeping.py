"""Book-keeping clipping against a batch-of-one clipping loop (noise off), for every layer type
of the decoder, at sequence lengths on both sides of each layer's ghost / instantiate choice, in
float32 and under bfloat16 autocast; one person's effect on the clipped sum; noise on every
parameter; refusals.
"""

import copy
from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import nn

from strongroom.corpus.tokenizer import PAD
from strongroom.model.config import preset
from strongroom.model.gemma import GemmaDecoder, SequenceLoss, shift
from strongroom.privacy.plan import PrivacyParams, make_plan
from strongroom.training import layer_grads
from strongroom.training.book_keeping import BookKeepingModule, UnsupportedLayerError
from strongroom.training.dp_sgd import TrainSettings
from strongroom.training.parts import build_parts
from strongroom.training.step import StepStats, add_clipped
from tests.training.test_dp_sgd import _tokens


def _reference(model: nn.Module, inputs, targets, clip: float, loss_fn):
    """Clipped sum and norms by hand: one person at a time, float32, autograd's gradients."""
    total = [torch.zeros_like(p) for p in model.parameters()]
    norms = []
    for i in range(len(inputs)):
        model.zero_grad()
        loss_fn(model(inputs[i : i + 1]), targets[i : i + 1]).sum().backward()
        norms.append(add_clipped_grads(model, total, clip))
    return total, torch.tensor(norms)


def add_clipped_grads(model: nn.Module, total: list[torch.Tensor], clip: float) -> float:
    """Add the model's gradients, clipped to norm `clip`, to `total`; their norm before."""
    grads = [p.grad for p in model.parameters()]
    norm = float(torch.sqrt(sum(g.pow(2).sum() for g in grads)))
    for t, g in zip(total, grads, strict=True):
        t += g * min(1.0, clip / (norm + 1e-6))
    return norm


def _book_keeping(model: nn.Module, inputs, targets, clip: float, loss_fn, autocast=False):
    wrapped = BookKeepingModule(model)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast), wrapped.one_pass():
        losses = loss_fn(wrapped(inputs).float(), targets)
        norms = wrapped.clipped_backward(losses, clip)
    assert all(p.requires_grad for p in model.parameters())  # unfrozen for the optimizer
    return [p.grad for p in model.parameters()], norms


def _decoder_case(length: int, people: int = 5):
    torch.manual_seed(0)
    model = GemmaDecoder(replace(preset("tiny"), max_seq_len=length))
    inputs, targets = shift(torch.from_numpy(_tokens(people, length).astype(np.int64)))
    return model, inputs, targets, SequenceLoss(PAD, reduction="none")


# positions T - 1 = 7: ghost norms for the 32 x 32 projections and the embedding (T^2 < d_in d_out);
# 31: instantiated projections, ghost embedding; 299: all instantiated (T^2 > every d_in d_out)
LENGTHS = [8, 32, 300]


@pytest.mark.parametrize("length", LENGTHS)
def test_clipped_sum_equals_a_batch_of_one_loop_float32(length):
    model, inputs, targets, loss_fn = _decoder_case(length)
    positions, width = length - 1, model.cfg.d_model
    ghost_projection = not layer_grads.instantiates(positions, width, width)
    assert ghost_projection == (length == 8)  # both branches are exercised
    clip = 0.05
    want, want_norms = _reference(copy.deepcopy(model), inputs, targets, clip, loss_fn)
    got, norms = _book_keeping(model, inputs, targets, clip, loss_fn)
    assert bool((want_norms > clip).all())  # every person clipped
    torch.testing.assert_close(norms, want_norms, rtol=1e-5, atol=0)
    names = [name for name, _ in model.named_parameters()]
    assert {n.split(".")[-2] for n in names} >= {"embed", "attn_norm", "q_proj", "lm_head"}
    for name, g, w in zip(names, got, want, strict=True):
        torch.testing.assert_close(g, w, atol=1e-7, rtol=1e-4, msg=name)


@pytest.mark.parametrize("length", [8, 300])
def test_clipped_sum_under_bf16_autocast_is_close_to_the_float32_loop(length):
    model, inputs, targets, loss_fn = _decoder_case(length)
    clip = 0.05
    want, want_norms = _reference(copy.deepcopy(model), inputs, targets, clip, loss_fn)
    got, norms = _book_keeping(model, inputs, targets, clip, loss_fn, autocast=True)
    assert norms.dtype == torch.float32 and all(g.dtype == torch.float32 for g in got)
    torch.testing.assert_close(norms, want_norms, rtol=1e-2, atol=0)  # measured 1e-3
    flat_got, flat_want = (
        torch.cat([g.flatten() for g in got]),
        torch.cat([w.flatten() for w in want]),
    )
    assert float((flat_got - flat_want).norm() / flat_want.norm()) < 1e-2  # measured 1.8e-3
    assert float(flat_got.norm()) <= clip * len(inputs) * (1 + 1e-5)  # each person <= C


class _Reused(nn.Module):
    """A layer called twice, biases, a padding row, an RMSNorm with eps=None."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(11, 6, padding_idx=0)
        self.norm = nn.RMSNorm(6)
        self.shared = nn.Linear(6, 6)
        self.head = nn.Linear(6, 11)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.norm(self.embed(ids))  # [B, T, 6]
        return self.head(self.shared(torch.tanh(self.shared(x))))  # [B, T, 11]


def _token_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    losses = nn.functional.cross_entropy(logits.transpose(1, 2), targets, reduction="none")
    return losses.mean(1)  # [B]


@pytest.mark.parametrize("length", [3, 40])  # shared layer: ghost at 3 positions, else not
def test_a_layer_called_twice_biases_and_padding_match_the_loop(length):
    torch.manual_seed(0)
    model = _Reused()
    ids = torch.randint(0, 11, (4, length))
    ids[:, 0] = 0  # the padding row must get nothing
    clip = 0.01
    want, want_norms = _reference(copy.deepcopy(model), ids, ids, clip, _token_loss)
    got, norms = _book_keeping(model, ids, ids, clip, _token_loss)
    torch.testing.assert_close(norms, want_norms, rtol=1e-5, atol=0)
    for (name, _), g, w in zip(model.named_parameters(), got, want, strict=True):
        torch.testing.assert_close(g, w, atol=1e-7, rtol=1e-4, msg=name)


def test_a_layer_the_loss_does_not_reach_gets_a_zero_gradient():
    torch.manual_seed(0)
    model = _Reused()
    model.unused = nn.Linear(3, 3)
    ids = torch.randint(1, 11, (2, 5))
    got, _ = _book_keeping(model, ids, ids, 1.0, _token_loss)
    assert got[-1] is not None and not got[-1].any()


@pytest.mark.parametrize(
    "extra",
    [nn.LayerNorm(6), nn.Conv1d(6, 6, 1), nn.Embedding(11, 6, sparse=True)],
    ids=["layer_norm", "conv", "sparse_embedding"],
)
def test_unknown_trainable_layers_are_refused(extra):
    model = _Reused()
    model.extra = extra
    with pytest.raises(UnsupportedLayerError, match="extra"):
        BookKeepingModule(model)
    extra.requires_grad_(False)  # frozen: nothing to clip, accepted
    BookKeepingModule(model)


def test_tied_parameters_are_refused():
    model = _Reused()
    model.head.weight = model.embed.weight  # [11, 6] both
    with pytest.raises(UnsupportedLayerError, match="share a parameter"):
        BookKeepingModule(model)


def test_parameters_are_unfrozen_when_the_pass_fails():
    model = _Reused()
    wrapped = BookKeepingModule(model)
    with pytest.raises(ValueError), wrapped.one_pass():
        assert not any(p.requires_grad for p in model.parameters())
        raise ValueError("boom")
    assert all(p.requires_grad for p in model.parameters())
    with pytest.raises(RuntimeError, match="one_pass"):
        wrapped.clipped_backward(torch.zeros(2, requires_grad=True), 1.0)


def _plan(units: int, batch: int, clip: float, sigma: float | None = None):
    params = PrivacyParams(delta=1e-3, batch_size=batch, epochs=1.0, max_grad_norm=clip)
    plan = make_plan(params, units=units, privacy_unit="patient")
    if sigma is None:
        return plan
    return replace(plan, mechanism=replace(plan.mechanism, noise_multiplier=sigma))


def _clipped_sum(parts, batch: torch.Tensor, clip: float, autocast: bool) -> torch.Tensor:
    parts.optimizer.zero_grad(set_to_none=True)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        add_clipped(parts, batch, clip, StepStats())
    return torch.cat([p.grad.flatten() for p in parts.optimizer.params]).double()


@pytest.mark.parametrize("autocast", [False, True], ids=["float32", "bf16"])
def test_one_person_moves_the_clipped_sum_by_at_most_c(autocast):
    """||S(D + x) - S(D)|| / C at physical batch 512 of identical people, every one clipped."""
    clip = 1e-3
    plan = _plan(512, 512, clip)
    torch.manual_seed(0)
    model = GemmaDecoder(replace(preset("demo"), max_seq_len=128))
    tokens = torch.from_numpy(_tokens(1, 128).astype(np.int64)).repeat(512, 1)  # [512, 128]
    settings = TrainSettings(seed=0, clipping="book_keeping")
    parts = build_parts(model, _tokens(512, 128), plan, settings)
    with_x = _clipped_sum(parts, tokens, clip, autocast)
    without_x = _clipped_sum(parts, tokens[:511], clip, autocast)
    assert bool((parts.model.per_sample_gradient_norms > clip).all())
    sensitivity = float((with_x - without_x).norm()) / clip
    assert 1 - 1e-3 <= sensitivity <= 1 + 1e-5, sensitivity


def test_every_parameter_receives_noise_of_the_planned_law():
    plan = _plan(40, 8, clip=0.5, sigma=2.0)
    torch.manual_seed(0)
    model = GemmaDecoder(preset("tiny"))
    parts = build_parts(model, _tokens(40), plan, TrainSettings(seed=3, clipping="book_keeping"))
    assert isinstance(parts.model, BookKeepingModule)
    parts.optimizer.zero_grad(set_to_none=True)
    add_clipped(
        parts, torch.from_numpy(_tokens(8).astype(np.int64)), plan.max_grad_norm, StepStats()
    )
    clean = [p.grad.clone() for p in parts.optimizer.params]
    assert len(clean) == len(list(model.parameters()))  # every parameter, none frozen
    assert parts.optimizer.pre_step()  # noise, then / expected batch
    std = plan.noise_multiplier * plan.max_grad_norm
    for p, c in zip(parts.optimizer.params, clean, strict=True):
        noise = p.grad * plan.expected_batch_size - c
        assert bool((noise != 0).all())
        if noise.numel() >= 1000:
            assert float(noise.std()) == pytest.approx(std, rel=0.1)
