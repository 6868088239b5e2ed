"""The training state file: keyed on what it trains, read with weights_only, removed when done."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from strongroom.errors import PrivacyBudgetError
from strongroom.training.checkpoint import (
    StateKey,
    StepLog,
    fingerprint_tokens,
    load_state,
    remove_state,
    restore,
    save_state,
)

TOKENS = np.arange(24, dtype=np.int64).reshape(4, 6)
KEY = StateKey(
    corpus_sha256=fingerprint_tokens(TOKENS),
    model_config={"d_model": 3, "layers": 1},
    hyper_parameters={
        "plan": {"noise_multiplier": 1.1, "steps": 10, "delta": 1e-3},
        "learning_rate": 1e-3,
        "seed": 5,
        "betas": (0.9, 0.999),
    },
    world_size=1,
)


class _Optimizer:
    """What save_state and restore expect of Opacus' DPOptimizer."""

    def __init__(self, original_optimizer: torch.optim.Optimizer) -> None:
        self.original_optimizer = original_optimizer


class _Accountant:
    def __init__(self, history: list) -> None:
        self.history = history


def _mark(path: str) -> None:
    """Harmless stand-in for code a crafted pickle would run."""
    Path(path).write_text("ran")


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return _mark, (str(self.marker),)


def _live(seed: int):
    torch.manual_seed(seed)
    model = torch.nn.Linear(3, 2)
    adam = torch.optim.Adam(model.parameters(), lr=1e-3)
    return model, _Optimizer(adam), _Accountant([]), torch.Generator(), torch.Generator()


def _save(path: Path, key: StateKey = KEY) -> dict:
    model, optimizer, accountant, sampler, noise = _live(0)
    model(torch.ones(4, 3)).sum().backward()
    optimizer.original_optimizer.step()  # Adam now has state (step, exp_avg, exp_avg_sq)
    accountant.history = [(np.float64(1.1), 0.25, 3), (1.2, 0.25, 2)]
    sampler.manual_seed(11)
    noise.manual_seed(12)
    torch.rand(5, generator=sampler)  # generators mid-stream, not at their seed
    log = StepLog(
        losses=[2.5, math.nan], batch_sizes=[np.int64(3), 0], clip_fractions=[0.5, 0.0],
        epsilons=[(1, 0.4), (2, 0.6)],
    )  # fmt: skip
    save_state(
        path, key=key, step=2, model=model, optimizer=optimizer, accountant=accountant,
        sampler_generator=sampler, noise_generator=noise, log=log,
    )  # fmt: skip
    return {
        "model": {k: v.clone() for k, v in model.state_dict().items()},
        "optimizer": optimizer.original_optimizer.state_dict(),
        "sampler": torch.rand(4, generator=sampler),
        "noise": torch.randn(4, generator=noise),
    }


def test_no_file_means_no_state(tmp_path):
    assert load_state(tmp_path / "state.pt", KEY) is None


def test_a_saved_state_loads_under_weights_only_and_restores_every_part(tmp_path):
    path = tmp_path / "state.pt"
    expected = _save(path)
    torch.load(path, weights_only=True)  # plain torch.load: nothing needs pickled code
    state = load_state(path, KEY)
    assert state["key"] == KEY.to_dict()
    model, optimizer, accountant, sampler, noise = _live(1)
    step, log = restore(
        state, model=model, optimizer=optimizer, accountant=accountant,
        sampler_generator=sampler, noise_generator=noise,
    )  # fmt: skip
    assert step == 2
    for name, tensor in expected["model"].items():
        assert torch.equal(model.state_dict()[name], tensor), name
    saved_adam = expected["optimizer"]
    adam = optimizer.original_optimizer.state_dict()
    assert adam["param_groups"] == saved_adam["param_groups"]
    for index, slots in saved_adam["state"].items():
        for slot, value in slots.items():
            assert torch.equal(adam["state"][index][slot], value), (index, slot)
    assert accountant.history == [(1.1, 0.25, 3), (1.2, 0.25, 2)]
    assert all(type(x) is float for entry in accountant.history for x in entry[:2])
    assert torch.equal(torch.rand(4, generator=sampler), expected["sampler"])
    assert torch.equal(torch.randn(4, generator=noise), expected["noise"])
    assert log.losses[0] == 2.5 and math.isnan(log.losses[1])
    assert log.batch_sizes == [3, 0] and type(log.batch_sizes[0]) is int
    assert log.clip_fractions == [0.5, 0.0]
    assert log.epsilons == [(1, 0.4), (2, 0.6)]


def test_a_state_for_other_data_is_refused_naming_the_corpus(tmp_path):
    path = tmp_path / "state.pt"
    _save(path)
    other = replace(KEY, corpus_sha256=fingerprint_tokens(TOKENS + 1))
    with pytest.raises(PrivacyBudgetError) as caught:
        load_state(path, other)
    message = str(caught.value)
    assert "other data (corpus fingerprint)" in message
    assert str(path) in message and "remove the file to start over" in message
    assert KEY.corpus_sha256 not in message and other.corpus_sha256 not in message
    assert "hyper-parameters" not in message and "world size" not in message


def test_other_hyper_parameters_are_refused_naming_only_the_differing_names(tmp_path):
    path = tmp_path / "state.pt"
    _save(path)
    hyper = {**KEY.hyper_parameters, "learning_rate": 3e-4, "seed": 6}
    hyper["plan"] = {**hyper["plan"], "noise_multiplier": 0.7}
    with pytest.raises(PrivacyBudgetError) as caught:
        load_state(path, replace(KEY, hyper_parameters=hyper))
    message = str(caught.value)
    assert "other hyper-parameters (learning_rate, plan.noise_multiplier, seed)" in message
    assert "remove the file to start over" in message
    for value in ("0.0003", "3e-04", "0.7", "1.1", "0.001"):
        assert value not in message, value
    assert "corpus" not in message and "model configuration" not in message


def test_another_model_configuration_is_refused_naming_the_field(tmp_path):
    path = tmp_path / "state.pt"
    _save(path)
    with pytest.raises(PrivacyBudgetError, match=r"another model configuration \(layers\)"):
        load_state(path, replace(KEY, model_config={"d_model": 3, "layers": 2}))


def test_another_world_size_is_refused(tmp_path):
    path = tmp_path / "state.pt"
    _save(path)
    with pytest.raises(PrivacyBudgetError, match="another world size"):
        load_state(path, replace(KEY, world_size=2))


def test_every_differing_part_is_named_at_once(tmp_path):
    path = tmp_path / "state.pt"
    _save(path)
    other = StateKey(
        corpus_sha256="0" * 64, model_config=KEY.model_config,
        hyper_parameters={**KEY.hyper_parameters, "seed": 9}, world_size=1,
    )  # fmt: skip
    with pytest.raises(
        PrivacyBudgetError,
        match=r"other data \(corpus fingerprint\), other hyper-parameters \(seed\)",
    ):
        load_state(path, other)


def test_an_equal_key_built_from_numpy_and_tuples_matches(tmp_path):
    path = tmp_path / "state.pt"
    _save(path)
    hyper = {**KEY.hyper_parameters, "seed": np.int64(5), "betas": [0.9, 0.999]}
    assert load_state(path, replace(KEY, hyper_parameters=hyper)) is not None


def test_a_key_that_is_not_plain_data_is_rejected_before_saving():
    with pytest.raises(TypeError, match=r"hyper_parameters\.device"):
        replace(KEY, hyper_parameters={"device": torch.device("cpu")}).to_dict()


def test_the_fingerprint_depends_on_values_dtype_and_shape():
    base = fingerprint_tokens(TOKENS)
    assert base == fingerprint_tokens(TOKENS.copy())
    assert base == fingerprint_tokens(np.asfortranarray(TOKENS))  # layout is not data
    assert base != fingerprint_tokens(TOKENS + 1)
    assert base != fingerprint_tokens(TOKENS.astype(np.int32))
    assert base != fingerprint_tokens(TOKENS.reshape(6, 4))
    assert len(base) == 64


def test_a_corrupt_file_is_refused_with_a_clear_error(tmp_path):
    path = tmp_path / "state.pt"
    _save(path)
    path.write_bytes(path.read_bytes()[:100])  # truncated, as by a full disk
    with pytest.raises(PrivacyBudgetError, match="not a readable training state") as caught:
        load_state(path, KEY)
    assert str(path) in str(caught.value)
    assert "remove the file to start over" in str(caught.value)


def test_a_file_that_is_not_a_state_is_refused(tmp_path):
    path = tmp_path / "state.pt"
    torch.save([1, 2, 3], path)
    with pytest.raises(PrivacyBudgetError, match="not a valid training state"):
        load_state(path, KEY)
    torch.save({"step": 3, "plan": {}}, path)  # the old format, keyed on the plan only
    with pytest.raises(PrivacyBudgetError, match="older strongroom"):
        load_state(path, KEY)
    torch.save({**torch.load(_path_with_state(tmp_path)), "step": "three"}, path)
    with pytest.raises(PrivacyBudgetError, match="step is not a count"):
        load_state(path, KEY)


def _path_with_state(tmp_path: Path) -> Path:
    path = tmp_path / "valid.pt"
    _save(path)
    return path


def test_a_pickle_that_would_run_code_is_refused_and_the_code_does_not_run(tmp_path):
    marker = tmp_path / "marker"
    path = tmp_path / "state.pt"
    _save(path)
    state = torch.load(path, weights_only=True)
    state["log"]["note"] = _Payload(marker)  # otherwise a valid state
    torch.save(state, path)
    torch.load(path, weights_only=False)  # the control: an unsafe load does run it
    assert marker.read_text() == "ran"
    marker.unlink()
    with pytest.raises(PrivacyBudgetError, match="not a readable training state"):
        load_state(path, KEY)
    assert not marker.exists()


def test_remove_state_removes_the_file_and_a_leftover_partial(tmp_path):
    path = tmp_path / "state.pt"
    _save(path)
    partial = tmp_path / "state.pt.partial"
    partial.write_bytes(b"half")
    assert remove_state(path) is True
    assert not path.exists() and not partial.exists()
    assert load_state(path, KEY) is None  # a finished state cannot be resumed by another run
    assert remove_state(path) is False


def test_saving_leaves_no_partial_file_behind(tmp_path):
    _save(tmp_path / "state.pt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.pt"]
