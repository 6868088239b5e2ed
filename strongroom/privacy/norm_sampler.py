"""Per-sample gradient norms of nn.Linear at the cheaper of two costs ("mixed ghost clipping").

Opacus' ghost norm for a [B, T, d_in] -> [B, T, d_out] layer builds two [B, T, T] Gram matrices:
cheap for short sequences and wide layers, expensive for long sequences and narrow layers (the
byte-level head at T = 512 is 4x slower that way). Instantiating the per-sample gradient
[B, d_out, d_in] costs T * d_in * d_out instead. Both give the same norm; we pick per layer and
per call (Bu et al., 2022). Importing this module registers it with Opacus.
"""

from __future__ import annotations

import torch
from opacus.grad_sample import register_norm_sampler
from torch import nn


def _weight_norms(activations: torch.Tensor, backprops: torch.Tensor) -> torch.Tensor:
    """[B] norms of sum_t g_t a_t^T for a: [B, T, d_in], g: [B, T, d_out]."""
    T, d_in, d_out = activations.shape[1], activations.shape[2], backprops.shape[2]
    ghost_cost, instantiate_cost = T * T, d_in * d_out
    if ghost_cost <= instantiate_cost:  # ghost norm: <G G^T, A A^T>
        ggT = torch.einsum("nik,njk->nij", backprops, backprops)  # [B, T, T]
        aaT = torch.einsum("nik,njk->nij", activations, activations)  # [B, T, T]
        return torch.einsum("nij,nij->n", ggT, aaT).clamp(min=0).sqrt()  # [B]
    per_sample = torch.einsum("nti,ntj->nij", backprops, activations)  # [B, d_out, d_in]
    return per_sample.flatten(1).norm(dim=1)  # [B]


@register_norm_sampler(nn.Linear)
def mixed_linear_norm_sample(
    layer: nn.Linear, activations: list[torch.Tensor], backprops: torch.Tensor
) -> dict[nn.Parameter, torch.Tensor]:
    # Float32 whatever the layer ran in: a norm rounded to bfloat16 can understate it by 2^-9.
    a, backprops = activations[0].float(), backprops.float()
    if backprops.dim() == 2:  # [B, d]: no sequence dimension
        a, backprops = a.unsqueeze(1), backprops.unsqueeze(1)
    a, backprops = a.flatten(1, -2), backprops.flatten(1, -2)  # [B, T, d]
    norms: dict[nn.Parameter, torch.Tensor] = {}
    if layer.weight.requires_grad:
        norms[layer.weight] = _weight_norms(a, backprops)
    if layer.bias is not None and layer.bias.requires_grad:
        norms[layer.bias] = backprops.sum(1).norm(dim=1)  # [B]
    return norms
