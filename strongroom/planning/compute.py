"""What a plan costs: parameters of a preset, FLOPs of a step, and a compute budget in FLOPs.

Training FLOPs per token (Kaplan et al. 2020, table 1, forward x 3 for forward + backward):

    6 * P_matmul + 6 * n_layers * seq_len * (n_heads * head_dim)

P_matmul counts every weight that takes part in a matrix product (all but the input embedding,
a lookup); the second term is attention's QK^T and AV products over the full (unmasked) window,
which the usual 6 * params leaves out and which matters for small models at seq 512: for the
demo preset it is a third of the total. Per-person clipping adds work on top, a factor per
hardware in the table below (DP_OVERHEAD). Parameters are counted from the config, not from a
built model, so that planning never imports torch (tests/planning/test_compute.py checks the
count against GemmaDecoder).
"""

from __future__ import annotations

from dataclasses import dataclass

from strongroom.errors import StrongroomError
from strongroom.model.config import GemmaConfig

SECONDS_PER_HOUR = 3600.0


@dataclass(frozen=True)
class Hardware:
    sustained_flops: float  # dense training FLOP/s actually reached, not the data sheet's peak
    dp_overhead: float  # DP step time / non-private step time (per-person clipping, noise)


# Sustained throughput and DP overhead per device kind (one device). Assumptions, stated once:
# | kind | sustained FLOP/s | why                                                         | DP x |
# | h100 | 3.5e14           | 989 TFLOP/s bf16 dense peak at ~35% MFU (small models, seq   | 1.3  |
# |      |                  | 1024); not measured here: no GPU run of dp_overhead.py yet  |      |
# | cpu  | 5e10             | this project's 2-core CPU: the demo's 87 book-keeping steps | 1.0  |
# |      |                  | (3.3e12 FLOPs by the formula above) in ~57 s (docs/         |      |
# |      |                  | training.md); book-keeping measured 0.83-0.90x non-DP there |      |
# The 1.3 for h100 is an allowance for the per-person norms and the B x params read of
# book-keeping until gpu_check.sh measures it.
HARDWARE: dict[str, Hardware] = {
    "h100": Hardware(sustained_flops=3.5e14, dp_overhead=1.3),
    "cpu": Hardware(sustained_flops=5e10, dp_overhead=1.0),
}


def parameter_count(cfg: GemmaConfig) -> int:
    """Trainable parameters of GemmaDecoder(cfg): untied embedding and head, per-layer
    attention (multi-query K/V), GeGLU and two RMSNorms, and the final RMSNorm."""
    attention = cfg.d_model * cfg.head_dim * (2 * cfg.n_heads + 2 * cfg.n_kv_heads)
    mlp = 3 * cfg.d_model * cfg.ffn_hidden
    per_layer = attention + mlp + 2 * cfg.d_model
    return 2 * cfg.vocab_size * cfg.d_model + cfg.n_layers * per_layer + cfg.d_model


def flops_per_token(cfg: GemmaConfig, seq_len: int) -> float:
    """Training FLOPs (forward + backward) per token, without the DP overhead."""
    matmul_params = parameter_count(cfg) - cfg.vocab_size * cfg.d_model  # less the lookup
    attention = cfg.n_layers * seq_len * cfg.n_heads * cfg.head_dim
    return 6.0 * matmul_params + 6.0 * attention


def budget_flops(
    *, compute: float | None = None, gpu_hours: float | None = None, gpu: str | None = None
) -> float:
    """The budget in non-private-equivalent FLOPs: `compute` as given, or device hours at the
    table's sustained rate divided by its DP overhead (what a DP run can actually spend)."""
    if compute is not None:
        if gpu_hours is not None:
            raise StrongroomError("give --compute or --gpu-hours, not both")
        if not compute > 0:
            raise StrongroomError(f"--compute must be positive FLOPs, got {compute:g}")
        return float(compute)
    if gpu_hours is None or gpu is None:
        raise StrongroomError("a compute budget needs --compute FLOPS or --gpu-hours H --gpu KIND")
    if gpu not in HARDWARE:
        raise StrongroomError(f"unknown --gpu {gpu!r}; choose from {', '.join(sorted(HARDWARE))}")
    if not gpu_hours > 0:
        raise StrongroomError(f"--gpu-hours must be positive, got {gpu_hours:g}")
    hardware = HARDWARE[gpu]
    return gpu_hours * SECONDS_PER_HOUR * hardware.sustained_flops / hardware.dp_overhead
