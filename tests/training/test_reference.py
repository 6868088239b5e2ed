"""The non-private reference: plain Adam on the batch mean (no clipping, no noise), the DP run's
steps and expected batch, on the same corpus; its weights never leave the stage."""

from pathlib import Path

import numpy as np
import pytest
import torch

from strongroom.corpus.tokenizer import PAD
from strongroom.model.config import preset
from strongroom.model.gemma import GemmaDecoder, SequenceLoss, shift
from strongroom.privacy.plan import PrivacyParams
from strongroom.run_record.reports import ReferenceReport, TrainReport
from strongroom.stages import reference_stage, train_stage
from strongroom.training.reference import reference_batches, train_reference
from strongroom.training.settings import TrainSettings


def _tokens(units: int, length: int = 32) -> np.ndarray:
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, 256, size=(units, length)).astype(np.int16)
    tokens[:, length - 6 :] = PAD
    return tokens


def _person_norms(model: GemmaDecoder, tokens: np.ndarray) -> list[float]:
    norms = []
    for row in tokens:
        model.zero_grad()
        inputs, targets = shift(torch.from_numpy(row[None].astype(np.int64)))
        SequenceLoss(model.cfg.pad_id)(model(inputs), targets).backward()
        norms.append(float(torch.norm(torch.stack([p.grad.norm() for p in model.parameters()]))))
    return norms


def test_each_step_is_plain_adam_on_the_unclipped_mean_of_a_fixed_batch():
    """By hand: the whole batch at once, mean loss, Adam. Per-person clipping at the DP default
    C = 1 (every person's gradient norm is above it here) moves these weights by up to 0.05, noise
    of std 1e-3 by 0.06 (measured when this test was written); the tolerance is 1e-5. The
    reference's physical batches of 3 must add up to the same step."""
    tokens, cfg, steps, batch = _tokens(12), preset("tiny"), 3, 5
    settings = TrainSettings(model_preset="tiny", learning_rate=1e-2, physical_batch_size=3)
    result = train_reference(tokens, cfg, steps=steps, batch_size=batch, settings=settings)
    assert result.steps == steps and result.batch_sizes == [batch] * steps

    torch.manual_seed(0)  # the DP run's initialisation when its randomness is secure
    model = GemmaDecoder(cfg)
    assert min(_person_norms(model, tokens)) > PrivacyParams().max_grad_norm  # clipping would bite
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for rows in reference_batches(len(tokens), batch, steps):
        optimizer.zero_grad()
        inputs, targets = shift(torch.from_numpy(tokens[rows].astype(np.int64)))
        SequenceLoss(cfg.pad_id)(model(inputs), targets).backward()
        optimizer.step()
    for (name, mine), theirs in zip(
        model.state_dict().items(), result.model.state_dict().values(), strict=True
    ):
        torch.testing.assert_close(theirs, mine, rtol=1e-4, atol=1e-5, msg=name)


def test_batches_are_distinct_people_and_repeatable():
    drawn = list(reference_batches(10, 4, 5))
    assert [len(set(rows)) for rows in drawn] == [4] * 5
    assert all(
        np.array_equal(a, b) for a, b in zip(drawn, reference_batches(10, 4, 5), strict=True)
    )
    assert len({tuple(rows) for rows in drawn}) > 1  # not the same people every step


@pytest.fixture(scope="module")
def ran(stage_dirs, tmp_path_factory):
    """A DP run on the shared corpus, then the reference stage with and without the option:
    (the DP model folder, the reference's folder, the folder of the run without one)."""
    root = tmp_path_factory.mktemp("reference")
    model_dir, with_ref, without = (str(root / name) for name in ("model", "ref", "none"))
    train_stage(
        stage_dirs["corpus"], model_dir, contract="hospital_encounters",
        privacy=PrivacyParams(target_epsilon=4.0, delta=1e-5, batch_size=4, epochs=1.0),
        training=TrainSettings(model_preset="tiny"), seal_key_file=str(root / "seal.key"),
    )  # fmt: skip
    on, off = TrainSettings(model_preset="tiny", reference=True), TrainSettings()
    reference_stage(model_dir, stage_dirs["corpus"], with_ref, training=on, batch_size=4)
    reference_stage(model_dir, stage_dirs["corpus"], without, training=off, batch_size=4)
    return model_dir, with_ref, without


def test_the_stage_trains_the_dp_runs_steps_and_batch_and_keeps_no_weights(ran):
    model_dir, with_ref, _ = ran
    report = ReferenceReport.load(with_ref)
    sealed = TrainReport.load(model_dir).evidence
    assert report.trained and report.steps == sealed["mechanism"]["steps"] > 1
    assert report.batch_size == 4  # the DP plan's expected (Poisson) batch
    assert report.corpus_sha256 == sealed["corpus_sha256"]
    assert 0 < report.loss < np.log(256) + 1 and report.units > 0
    assert [p.name for p in Path(with_ref).iterdir()] == [ReferenceReport.FILE]  # no weights


def test_without_the_option_the_stage_only_says_none_was_trained(ran):
    assert ReferenceReport.load(ran[2]) == ReferenceReport(trained=False)


def test_registration_refuses_a_reference_of_another_plan_or_corpus(ran, tmp_path):
    from strongroom.errors import StrongroomError
    from strongroom.release import matching_reference

    model_dir, with_ref, without = ran
    train = TrainReport.load(model_dir)
    good = ReferenceReport.load(with_ref)
    assert matching_reference(with_ref, train) == good
    assert matching_reference(without, train) is None and matching_reference("", train) is None
    for change, reason in (
        ({"steps": good.steps + 1}, "another number of steps"),
        ({"corpus_sha256": "0" * 64}, "another corpus"),
        ({"learning_rate": 0.5}, "another model or learning rate"),
    ):
        good.model_copy(update=change).write(tmp_path)
        with pytest.raises(StrongroomError, match=reason):
            matching_reference(str(tmp_path), train)


def test_a_reference_rate_of_its_own_is_trained_recorded_and_checked_at_registration(
    stage_dirs, tmp_path
):
    """`training.reference_learning_rate`: the reference trains at its own Adam rate, the DP run
    records the rate it asked for, and registration accepts that rate and no other."""
    from strongroom.errors import StrongroomError
    from strongroom.release import matching_reference

    settings = TrainSettings(model_preset="tiny", reference=True, reference_learning_rate=5e-3)
    model_dir, ref_dir = str(tmp_path / "model"), str(tmp_path / "ref")
    train_stage(
        stage_dirs["corpus"], model_dir, contract="hospital_encounters",
        privacy=PrivacyParams(target_epsilon=4.0, delta=1e-5, batch_size=4, epochs=1.0),
        training=settings, seal_key_file=str(tmp_path / "seal.key"),
    )  # fmt: skip
    reference_stage(model_dir, stage_dirs["corpus"], ref_dir, training=settings, batch_size=4)
    train, report = TrainReport.load(model_dir), ReferenceReport.load(ref_dir)
    assert (train.learning_rate, train.reference_learning_rate) == (2e-3, 5e-3)
    assert report.learning_rate == 5e-3 and matching_reference(ref_dir, train) == report
    report.model_copy(update={"learning_rate": train.learning_rate}).write(ref_dir)
    with pytest.raises(StrongroomError, match="learning rate than the run asked"):
        matching_reference(ref_dir, train)
