import os
from dataclasses import replace

import numpy as np
import pytest
import torch

from strongroom.corpus.tokenizer import PAD
from strongroom.model.config import preset
from strongroom.model.gemma import GemmaDecoder
from strongroom.privacy.plan import make_plan
from strongroom.training.dp_sgd import (
    TrainSettings,
    _one_step,
    _private_parts,
    _zero_grads,
    load_checkpoint,
    save_checkpoint,
    train_dp,
)
from strongroom.training.evaluate import generate, held_out_loss


def _tokens(units: int, length: int = 32) -> np.ndarray:
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, 256, size=(units, length)).astype(np.int16)
    tokens[:, length - 6 :] = PAD
    return tokens


@pytest.fixture(scope="module")
def trained():
    plan = make_plan(
        target_epsilon=3.0, delta=1e-3, units=40, batch_size=2, epochs=1.0, max_grad_norm=1.0
    )
    return plan, train_dp(_tokens(40), preset("tiny"), plan, TrainSettings(seed=1))


def test_takes_exactly_the_planned_steps_and_reports_their_epsilon(trained):
    plan, result = trained
    assert result.steps == plan.steps == 20
    assert result.epsilon <= plan.target_epsilon
    assert result.epsilon == pytest.approx(plan.epsilon_after(result.steps), rel=1e-6)


def test_poisson_batches_vary_and_empty_ones_still_count(trained):
    plan, result = trained
    sizes = result.batch_sizes
    assert len(set(sizes)) > 1  # not a fixed-size batch
    assert len(sizes) == plan.steps  # empty batches were steps too (noise only)
    assert np.mean(sizes) == pytest.approx(plan.sampling_rate * plan.units, abs=1.5)


def test_checkpoint_round_trip_and_generation(trained, tmp_path):
    plan, result = trained
    save_checkpoint(str(tmp_path / "m.pt"), result, plan)
    model, privacy = load_checkpoint(str(tmp_path / "m.pt"))
    assert privacy["epsilon"] == result.epsilon and privacy["steps_taken"] == result.steps
    for a, b in zip(model.state_dict().values(), result.model.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    metrics = held_out_loss(model, _tokens(5))
    assert metrics["loss"] > 0 and metrics["perplexity"] > 1
    assert isinstance(generate(model, "age: ", max_new_tokens=5, seed=0), str)


def test_ghost_clipped_gradient_equals_a_batch_of_one_loop():
    """Per-person clipping (noise off) against clipping each person's gradient by hand.

    The tiny model at T = 31 uses both branches of the mixed norm sampler: ghost norms for the
    wide layers (T^2 <= d_in * d_out) and instantiated per-sample gradients for the narrow ones.
    """
    import copy

    from opacus import PrivacyEngine
    from torch.utils.data import DataLoader, TensorDataset

    from strongroom.model.gemma import GemmaDecoder, SequenceLoss, shift
    from strongroom.privacy import norm_sampler  # noqa: F401

    torch.manual_seed(0)
    clip, people = 0.05, 6  # a small norm, so that clipping is active for every person
    tokens = torch.from_numpy(_tokens(people).astype(np.int64))
    model = GemmaDecoder(preset("tiny"))
    reference = copy.deepcopy(model)
    private, optimizer, criterion, _ = PrivacyEngine().make_private(
        module=model,
        optimizer=torch.optim.SGD(model.parameters(), lr=1.0),
        criterion=SequenceLoss(PAD),
        data_loader=DataLoader(TensorDataset(tokens), batch_size=people),
        noise_multiplier=0.0,
        max_grad_norm=clip,
        poisson_sampling=False,
        grad_sample_mode="ghost",
    )
    inputs, targets = shift(tokens)
    criterion(private(inputs), targets).backward()
    optimizer.pre_step()
    expected = [torch.zeros_like(p) for p in reference.parameters()]
    norms = []
    for i in range(people):
        reference.zero_grad()
        SequenceLoss(PAD)(reference(inputs[i : i + 1]), targets[i : i + 1]).backward()
        grads = [p.grad for p in reference.parameters()]
        norm = torch.sqrt(sum(g.pow(2).sum() for g in grads))
        norms.append(float(norm))
        factor = min(1.0, clip / (float(norm) + 1e-6))
        for total, g in zip(expected, grads, strict=True):
            total += g * factor / people
    assert min(norms) > clip
    for p, want in zip(model.parameters(), expected, strict=True):
        torch.testing.assert_close(p.grad, want, atol=1e-6, rtol=1e-4)


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
    return _private_parts(
        model, _tokens(plan.units), plan, TrainSettings(device=DEVICE, **settings)
    )


def test_physical_batches_give_the_update_of_one_pass():
    """BatchMemoryManager: 3 people per pass accumulate to the same step as all at once."""
    plan = _plan(40, 8, sigma=0.0)  # noise off (so no epsilon): the updates must match
    runs = []
    for size in (None, 3):
        parts = _parts(plan, seed=2, physical_batch_size=size)
        settings = TrainSettings(physical_batch_size=size)
        sizes = [_one_step(parts, plan, settings).people]
        grads = [p.grad.clone() for p in parts.optimizer.params]  # the first step's gradient
        sizes += [_one_step(parts, plan, settings).people for _ in range(2)]
        runs.append((sizes, grads, list(parts.model.parameters())))
    assert runs[0][0] == runs[1][0] and max(runs[0][0]) > 3  # same draws, split in passes of 3
    for a, b in zip(runs[0][1], runs[1][1], strict=True):
        assert torch.allclose(a, b, atol=1e-7)  # clipped sum / logical batch, not per pass
    for a, b in zip(runs[0][2], runs[1][2], strict=True):
        assert torch.allclose(a, b, atol=1e-5)


def test_noise_std_is_sigma_times_clip_norm_over_the_logical_batch():
    plan = _plan(200, 10)
    parts = _parts(plan)
    _zero_grads(parts.optimizer)  # no data gradient: what the step adds is the noise alone
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
    _zero_grads(parts.optimizer)
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
    _zero_grads(parts.optimizer)
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
