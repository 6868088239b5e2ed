"""Per-person weight gradients of one layer, from its inputs and output gradients: pure math.

Book-keeping clipping (training/book_keeping.py) keeps, for each call of a layer, what one
backward already has: the layer's input and the gradient of its output, per person. From them
this module forms (a) each person's squared gradient norm and (b) the clip-weighted sum of the
per-person gradients, in one contraction, without autograd ever forming the unclipped weight
gradient. Everything is float32 whatever the forward ran in: a norm rounded to bfloat16 can
understate it by 2^-9, and the clipped sum must not move by more than C for one person.

Two ways per layer (Bu et al., "Differentially Private Optimization on Large Model at Small
Cost", 2023), chosen by `instantiates` from the shape:
- instantiate the per-person gradient G [B, d_out, d_in] once (B T d_in d_out multiply-adds, what
  autograd's weight gradient costs); its norm and the clipped sum (B d_in d_out) are then cheap;
- ghost norm: ||sum_t g_t a_t^T||^2 = <A A^T, G G^T> over [T, T] Gram matrices (B T^2 (d_in +
  d_out)), keeping the inputs and output gradients for the clipped sum afterwards.
Instantiating is never more work; it is chosen whenever its [d_out, d_in] per person takes no
more memory than the [T, d_in + d_out] the ghost norm must keep, so neither choice costs both.

tests/training/test_layer_grads.py checks every function against autograd, person by person.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def instantiates(positions: int, width_in: int, width_out: int) -> bool:
    """Instantiate the per-person gradient rather than keep inputs and output gradients."""
    return width_in * width_out <= positions * (width_in + width_out)


def as_sequences(x: torch.Tensor) -> torch.Tensor:
    """[B, ..., d] -> [B, T, d] float32 (a [B, d] input is one position)."""
    x = x.float()
    return x.unsqueeze(1) if x.dim() == 2 else x.flatten(1, -2)


def by_person(x: torch.Tensor, people: int, *, features: bool = True) -> torch.Tensor:
    """[P * k, T, ...] -> [P, k * T, ...]: a person's k sequences (rows k p .. k p + k - 1) as
    one sample of k T positions. Every supported layer's per-person gradient is a sum over
    positions, so this is exact: norms and clipped sums are the person's, not the sequences'.
    A [P * k, d] input (`features`: its last dimension is one, not positions) becomes
    [P, k, d]; ids [P * k, T] become [P, k * T]."""
    rows = x.shape[0]
    if rows % people:
        raise RuntimeError(f"{rows} sequences cannot be {people} persons' (not a multiple)")
    per = rows // people
    if features and x.dim() == 2:
        return x.reshape(people, per, x.shape[1])
    return x.reshape(people, per * x.shape[1], *x.shape[2:])


# --- nn.Linear ------------------------------------------------------------------------------------


def linear_per_person(inputs: torch.Tensor, grads: torch.Tensor) -> torch.Tensor:
    """[B, d_out, d_in]: sum_t g_t a_t^T for inputs [B, T, d_in], output grads [B, T, d_out]."""
    return torch.bmm(grads.transpose(1, 2), inputs)


def linear_ghost_squared_norms(inputs: torch.Tensor, grads: torch.Tensor) -> torch.Tensor:
    """[B]: ||sum_t g_t a_t^T||^2 as <A A^T, G G^T>, without the [d_out, d_in] gradient."""
    input_gram = torch.bmm(inputs, inputs.transpose(1, 2))  # [B, T, T]
    grad_gram = torch.bmm(grads, grads.transpose(1, 2))  # [B, T, T]
    return (input_gram * grad_gram).sum((1, 2)).clamp(min=0)


def linear_clipped_sum(
    inputs: torch.Tensor, grads: torch.Tensor, factors: torch.Tensor
) -> torch.Tensor:
    """[d_out, d_in]: sum_b factors_b sum_t g_bt a_bt^T, one contraction over (b, t)."""
    weighted = grads * factors[:, None, None]  # [B, T, d_out]
    return weighted.flatten(0, 1).t() @ inputs.flatten(0, 1)  # [d_out, d_in]


def bias_per_person(grads: torch.Tensor) -> torch.Tensor:
    """[B, d_out]: sum_t g_t."""
    return grads.sum(1)


# --- nn.Embedding ---------------------------------------------------------------------------------


def embedding_per_person(ids: torch.Tensor, grads: torch.Tensor, rows: int) -> torch.Tensor:
    """[B, rows, d]: each person's output gradients added into the rows their ids picked."""
    people, width = grads.shape[0], grads.shape[-1]
    ids = ids.reshape(people, -1)  # [B, T]
    slots = ids + rows * torch.arange(people, device=ids.device)[:, None]  # [B, T]
    per_person = grads.new_zeros(people * rows, width)  # [B * rows, d]
    per_person.index_add_(0, slots.reshape(-1), grads.reshape(-1, width))
    return per_person.view(people, rows, width)


def embedding_ghost_squared_norms(ids: torch.Tensor, grads: torch.Tensor) -> torch.Tensor:
    """[B]: sum over position pairs with the same id of g_t . g_s ([B, T, T], no [rows, d])."""
    ids = ids.reshape(grads.shape[0], -1)  # [B, T]
    same = (ids[:, :, None] == ids[:, None, :]).to(grads.dtype)  # [B, T, T]
    grad_gram = torch.bmm(grads, grads.transpose(1, 2))  # [B, T, T]
    return (same * grad_gram).sum((1, 2)).clamp(min=0)


def embedding_clipped_sum(
    ids: torch.Tensor, grads: torch.Tensor, factors: torch.Tensor, rows: int
) -> torch.Tensor:
    """[rows, d]: the clip-weighted output gradients added into the rows their ids picked."""
    width = grads.shape[-1]
    weighted = grads * factors[:, None, None]  # [B, T, d]
    total = grads.new_zeros(rows, width)  # [rows, d]
    return total.index_add_(0, ids.reshape(-1), weighted.reshape(-1, width))


def without_padding(
    ids: torch.Tensor, grads: torch.Tensor, padding_idx: int | None
) -> torch.Tensor:
    """Output gradients at the padding id zeroed: nn.Embedding never trains that row."""
    if padding_idx is None:
        return grads
    keep = (ids.reshape(grads.shape[:2]) != padding_idx).to(grads.dtype)  # [B, T]
    return grads * keep[:, :, None]


# --- nn.RMSNorm -----------------------------------------------------------------------------------


def rms_norm_per_person(
    inputs: torch.Tensor, grads: torch.Tensor, shape: tuple[int, ...], eps: float | None
) -> torch.Tensor:
    """[B, *shape]: sum over positions of g * x / rms(x), the weight's per-person gradient."""
    normalised = F.rms_norm(inputs.float(), shape, eps=eps)  # [B, ..., *shape]
    product = (normalised * grads.float()).reshape(grads.shape[0], -1, *shape)  # [B, T, *shape]
    return product.sum(1)


def weighted_sum(per_person: torch.Tensor, factors: torch.Tensor) -> torch.Tensor:
    """sum_b factors_b per_person_b: [B, ...] -> [...]."""
    return torch.tensordot(factors, per_person, dims=1)


def squared_norms(per_person: torch.Tensor) -> torch.Tensor:
    """[B]: squared Frobenius norm of each person's gradient."""
    return per_person.flatten(1).pow(2).sum(1)
