"""The DP step against references: physical batches vs one pass, the noise's law, Poisson
batch sizes vs Binomial(N, q), the accountant's rate, early stop, secure_mode.

STRONGROOM_TEST_DEVICE=cuda runs them on a GPU (benchmarks/gpu_check.sh).
"""

import os
from dataclasses import replace

import numpy as np
import pytest
import torch

from strongroom.model.config import preset
from strongroom.model.gemma import GemmaDecoder
from strongroom.privacy.plan import make_plan
from strongroom.training.dp_sgd import TrainSettings, train_dp
from strongroom.training.parts import build_parts
from strongroom.training.step import one_step, zero_grads
from tests.training.test_dp_sgd import _tokens

DEVICE = os.environ.get("STRONGROOM_TEST_DEVICE", "cpu")  # benchmarks/gpu_check.sh sets cuda


def _plan(units: int, batch_size: int, *, sigma: float | None = None, epochs: float = 1.0):
    plan = make_plan(
        target_epsilon=3.0, delta=1e-3, units=units, batch_size=batch_size, epochs=epochs,
        max_grad_norm=1.0,
    )  # fmt: skip
    return plan if sigma is None else replace(plan, noise_multiplier=sigma, target_epsilon=1e9)


def _parts(plan, **settings):
    torch.manual_seed(0)
    model = GemmaDecoder(preset("tiny")).to(DEVICE)
    return build_parts(model, _tokens(plan.units), plan, TrainSettings(device=DEVICE, **settings))


def test_physical_batches_give_the_update_of_one_pass():
    """BatchMemoryManager: 3 people per pass accumulate to the same step as all at once."""
    plan = _plan(40, 8, sigma=0.0)  # noise off (so no epsilon): the updates must match
    runs = []
    for size in (None, 3):
        parts = _parts(plan, seed=2, physical_batch_size=size)
        settings = TrainSettings(physical_batch_size=size)
        sizes = [one_step(parts, plan, settings).people]
        grads = [p.grad.clone() for p in parts.optimizer.params]  # the first step's gradient
        sizes += [one_step(parts, plan, settings).people for _ in range(2)]
        runs.append((sizes, grads, list(parts.model.parameters())))
    assert runs[0][0] == runs[1][0] and max(runs[0][0]) > 3  # same draws, split in passes of 3
    for a, b in zip(runs[0][1], runs[1][1], strict=True):
        assert torch.allclose(a, b, atol=1e-7)  # clipped sum / logical batch, not per pass
    for a, b in zip(runs[0][2], runs[1][2], strict=True):
        assert torch.allclose(a, b, atol=1e-5)


def test_noise_std_is_sigma_times_clip_norm_over_the_logical_batch():
    plan = _plan(200, 10)
    parts = _parts(plan)
    zero_grads(parts.optimizer)  # no data gradient: what the step adds is the noise alone
    assert parts.optimizer.pre_step()  # accumulate, add noise, scale by the logical batch
    noise = torch.cat([p.grad.flatten() for p in parts.optimizer.params]).double().cpu()
    expected = plan.noise_multiplier * plan.max_grad_norm / plan.expected_batch_size
    assert parts.optimizer.expected_batch_size == plan.expected_batch_size == 10
    # ~26k draws: the sample std is within 3% of the true one with overwhelming probability
    assert noise.std().item() == pytest.approx(expected, rel=0.03)
    assert abs(noise.mean().item()) < 4 * expected / len(noise) ** 0.5


def test_poisson_batch_sizes_follow_binomial_n_q():
    from scipy import stats

    plan = _plan(200, 20)  # q = 1/10
    parts = _parts(plan)
    sizes = np.array([len(next(iter(parts.loader))[0]) for _ in range(3000)])
    n, q = plan.units, plan.sampling_rate
    assert sizes.mean() == pytest.approx(n * q, abs=4 * (n * q * (1 - q) / len(sizes)) ** 0.5)
    observed = np.bincount(sizes, minlength=n + 1)
    expected = stats.binom.pmf(np.arange(n + 1), n, q) * len(sizes)
    keep = expected >= 5  # chi-square needs >= 5 expected per bin: pool the tails
    obs = np.append(observed[keep], observed[~keep].sum())
    exp = np.append(expected[keep], expected[~keep].sum())
    assert stats.chisquare(obs, exp * obs.sum() / exp.sum()).pvalue > 1e-3


def test_accountant_uses_the_loaders_exact_rate():
    """Opacus would account 1/int(1/q): 1/92 for a loader that samples at 1/93."""
    plan = _plan(186, 2)  # ceil(186 / 2) = 93 batches an epoch
    assert plan.sampling_rate == 1 / 93
    parts = _parts(plan)
    assert parts.loader.sample_rate == 1 / 93
    zero_grads(parts.optimizer)
    parts.optimizer.step()
    assert parts.engine.accountant.history == [(plan.noise_multiplier, 1 / 93, 1)]


def test_early_stop_records_the_epsilon_of_the_steps_taken():
    plan = _plan(40, 4, epochs=2.0)
    result = train_dp(
        _tokens(40), preset("tiny"), plan, TrainSettings(max_steps=3, progress=False, device=DEVICE)
    )
    assert result.steps == 3 and result.stopped_early and plan.steps == 20
    assert result.epsilon == plan.epsilon_after(3) < plan.planned_epsilon
    assert result.privacy(plan)["stopped_early"] is True


def test_secure_mode_noise_and_sampling_have_the_right_law():
    from scipy import stats

    plan = _plan(200, 20)  # q = 1/10
    parts = _parts(plan, secure_mode=True)
    assert parts.sampler_rng is None and parts.noise_rng is None  # nothing predictable
    sizes = np.array([len(next(iter(parts.loader))[0]) for _ in range(1000)])
    assert sizes.mean() == pytest.approx(20, abs=4 * (18 / len(sizes)) ** 0.5)
    zero_grads(parts.optimizer)
    assert parts.optimizer.pre_step()
    noise = torch.cat([p.grad.flatten() for p in parts.optimizer.params]).double().cpu()
    expected = plan.noise_multiplier * plan.max_grad_norm / plan.expected_batch_size
    assert noise.std().item() == pytest.approx(expected, rel=0.03)
    assert stats.kstest(noise.numpy() / expected, "norm").pvalue > 1e-3  # Gaussian, not just std


def test_secure_mode_trains_within_the_plan():
    plan = _plan(40, 4)
    settings = TrainSettings(secure_mode=True, progress=False, device=DEVICE)
    result = train_dp(_tokens(40), preset("tiny"), plan, settings)
    assert result.steps == plan.steps and result.epsilon == plan.epsilon_after(plan.steps)
