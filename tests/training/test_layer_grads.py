"""The per-layer math of book-keeping clipping against autograd, person by person."""

import pytest
import torch

from strongroom.training import layer_grads as lg


def _autograd_per_person(
    layer: torch.nn.Module, inputs: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """[B, *weight.shape]: each person's weight gradient of sum(output * fixed grads)."""
    torch.manual_seed(1)
    with torch.no_grad():
        grads = torch.randn_like(layer(inputs))  # [B, T, d_out]
    per_person = []
    for i in range(len(inputs)):
        layer.zero_grad()
        (layer(inputs[i : i + 1]) * grads[i : i + 1]).sum().backward()
        per_person.append(layer.weight.grad.clone())
    return torch.stack(per_person), grads


def test_linear_ghost_norms_and_sum_equal_the_instantiated_gradients():
    torch.manual_seed(0)
    layer = torch.nn.Linear(6, 5, bias=False)
    inputs = torch.randn(4, 3, 6)  # [B, T, d_in]
    want, grads = _autograd_per_person(layer, inputs)
    got = lg.linear_per_person(inputs, grads)
    torch.testing.assert_close(got, want)
    torch.testing.assert_close(lg.linear_ghost_squared_norms(inputs, grads), lg.squared_norms(want))
    factors = torch.tensor([1.0, 0.5, 0.0, 0.25])
    torch.testing.assert_close(
        lg.linear_clipped_sum(inputs, grads, factors), lg.weighted_sum(want, factors)
    )


def test_embedding_ghost_norms_and_sum_equal_the_instantiated_gradients():
    torch.manual_seed(0)
    layer = torch.nn.Embedding(7, 4)
    ids = torch.tensor([[1, 2, 1, 6], [0, 0, 0, 0], [3, 4, 5, 6]])  # repeats: cross terms count
    want, grads = _autograd_per_person(layer, ids)
    torch.testing.assert_close(lg.embedding_per_person(ids, grads, 7), want)
    torch.testing.assert_close(lg.embedding_ghost_squared_norms(ids, grads), lg.squared_norms(want))
    factors = torch.tensor([0.5, 1.0, 0.1])
    torch.testing.assert_close(
        lg.embedding_clipped_sum(ids, grads, factors, 7), lg.weighted_sum(want, factors)
    )


def test_embedding_padding_row_gets_no_gradient():
    torch.manual_seed(0)
    layer = torch.nn.Embedding(5, 3, padding_idx=0)
    ids = torch.tensor([[0, 1, 0], [2, 0, 4]])
    want, grads = _autograd_per_person(layer, ids)
    got = lg.embedding_per_person(ids, lg.without_padding(ids, grads, 0), 5)
    torch.testing.assert_close(got, want)
    assert not got[:, 0].any()


@pytest.mark.parametrize("eps", [1e-6, None])
def test_rms_norm_per_person_gradient(eps):
    torch.manual_seed(0)
    layer = torch.nn.RMSNorm(8, eps=eps)
    with torch.no_grad():
        layer.weight.uniform_(0.5, 1.5)
    inputs = torch.randn(3, 5, 8)
    want, grads = _autograd_per_person(layer, inputs)
    eps = eps if eps is not None else torch.finfo(torch.float32).eps
    torch.testing.assert_close(lg.rms_norm_per_person(inputs, grads, (8,), eps), want)


def test_instantiates_when_the_gradient_is_no_larger_than_what_the_ghost_norm_keeps():
    assert lg.instantiates(1024, 384, 1024)  # the small preset at seq 1024: every layer
    assert lg.instantiates(1024, 768, 3072)  # base's widest layer at seq 1024
    assert not lg.instantiates(8, 32, 32)  # short sequences, wide layers: ghost norm
    assert lg.instantiates(64, 32, 32) and not lg.instantiates(15, 32, 32)  # 1024 vs 64 T
