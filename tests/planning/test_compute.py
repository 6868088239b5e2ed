"""Parameter counts and FLOPs without torch, checked against the built model."""

import pytest

from strongroom.errors import StrongroomError
from strongroom.model.config import PRESETS
from strongroom.planning.compute import HARDWARE, budget_flops, flops_per_token, parameter_count


@pytest.mark.parametrize("name", ["tiny", "demo", "small"])
def test_parameter_count_equals_the_built_models(name):
    from strongroom.model.gemma import GemmaDecoder

    model = GemmaDecoder(PRESETS[name])
    assert parameter_count(PRESETS[name]) == sum(p.numel() for p in model.parameters())


def test_flops_per_token_is_six_per_matmul_weight_plus_attention():
    cfg = PRESETS["demo"]
    matmul = parameter_count(cfg) - cfg.vocab_size * cfg.d_model
    attention = cfg.n_layers * 512 * cfg.n_heads * cfg.head_dim
    assert flops_per_token(cfg, 512) == 6 * matmul + 6 * attention
    assert flops_per_token(cfg, 1024) > flops_per_token(cfg, 512)  # attention grows with length


def test_gpu_hours_become_flops_at_the_sustained_rate_less_the_dp_overhead():
    h100 = HARDWARE["h100"]
    assert budget_flops(gpu_hours=2, gpu="h100") == pytest.approx(
        2 * 3600 * h100.sustained_flops / h100.dp_overhead
    )
    assert budget_flops(compute=1e15) == 1e15
    assert budget_flops(gpu_hours=1, gpu="h100") > 1000 * budget_flops(gpu_hours=1, gpu="cpu")


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"compute": 1e12, "gpu_hours": 1, "gpu": "cpu"}, {"compute": -1.0},
     {"gpu_hours": 1, "gpu": "tpu"}, {"gpu_hours": 0, "gpu": "cpu"}, {"gpu_hours": 1}],
)  # fmt: skip
def test_a_budget_that_is_missing_doubled_or_invalid_is_one_clear_error(kwargs):
    with pytest.raises(StrongroomError):
        budget_flops(**kwargs)
