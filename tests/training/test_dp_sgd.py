import numpy as np
import pytest
import torch

from strongroom.corpus.tokenizer import PAD
from strongroom.model.config import preset
from strongroom.model.gemma import GemmaDecoder
from strongroom.model.sampling import sample
from strongroom.privacy.plan import PrivacyParams, make_plan
from strongroom.training.dp_sgd import TrainSettings, load_checkpoint, save_checkpoint, train_dp
from strongroom.training.evaluate import held_out_loss


def _tokens(units: int, length: int = 32) -> np.ndarray:
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, 256, size=(units, length)).astype(np.int16)
    tokens[:, length - 6 :] = PAD
    return tokens


@pytest.fixture(scope="module")
def trained():
    params = PrivacyParams(target_epsilon=3.0, delta=1e-3, batch_size=2, epochs=1.0)
    plan = make_plan(params, units=40, privacy_unit="patient")
    return plan, train_dp(_tokens(40), preset("tiny"), plan, TrainSettings(seed=1))


def test_takes_exactly_the_planned_steps_and_reports_their_epsilon(trained):
    plan, result = trained
    assert result.steps == plan.steps == 20
    assert result.epsilon <= plan.target_epsilon
    assert result.epsilon == plan.mechanism.after(result.steps).epsilons().reported
    assert result.mechanism == plan.mechanism  # every planned step ran


def test_poisson_batches_vary_and_empty_ones_still_count(trained):
    plan, result = trained
    sizes = result.batch_sizes
    assert len(set(sizes)) > 1  # not a fixed-size batch
    assert len(sizes) == plan.steps  # empty batches were steps too (noise only)
    assert np.mean(sizes) == pytest.approx(plan.sampling_rate * plan.units, abs=1.5)


def test_checkpoint_round_trip_and_generation(trained, tmp_path):
    _, result = trained
    save_checkpoint(tmp_path / "m.pt", result)
    model = load_checkpoint(tmp_path / "m.pt")
    for a, b in zip(model.state_dict().values(), result.model.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    metrics = held_out_loss(model, _tokens(5))
    assert metrics["loss"] > 0 and metrics["perplexity"] > 1
    assert isinstance(sample(model, "age: ", max_new_tokens=5, seed=0), str)


def test_ghost_clipped_gradient_equals_a_batch_of_one_loop():
    """Per-person clipping (noise off) against clipping each person's gradient by hand.

    The tiny model at T = 31 uses both branches of the mixed norm sampler: ghost norms for the
    wide layers (T^2 <= d_in * d_out) and instantiated per-sample gradients for the narrow ones.
    """
    import copy

    from opacus import PrivacyEngine
    from torch.utils.data import DataLoader, TensorDataset

    from strongroom.model.gemma import SequenceLoss, shift
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
