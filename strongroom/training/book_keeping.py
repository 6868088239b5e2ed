"""Book-keeping clipping: per-person clipped gradients from one backward, weights' grads off.

Opacus' ghost clipping runs the backward twice (norms first, then the loss reweighted by the clip
factors) and keeps the first one's activations for the second. Here (Bu et al., "Differentially
Private Optimization on Large Model at Small Cost", ICML 2023; fastDP) one backward runs with
every parameter's `requires_grad` off, so autograd computes only the activations' gradients;
hooks keep each layer's input (forward) and output gradient (backward), per person. When the
backward ends, each layer's per-person squared norms are known (training/layer_grads.py: ghost
norm or instantiated gradient, whichever the shape makes cheaper), the clip factors come from
their sum, and each parameter's clipped sum is formed directly: one contraction per layer.

The result goes into `.grad` exactly as Opacus' ghost clipping leaves it (the unscaled sum of
the clipped per-person gradients), so Opacus' DPOptimizerFastGradientClipping adds the noise,
scales by the expected batch and calls the accountant as before, and BatchMemoryManager splits a
Poisson batch the same way. Layers other than nn.Linear, nn.Embedding and nn.RMSNorm holding a
trainable parameter, and parameters shared by two layers, are refused when the wrapper is built:
never silently unclipped. Norms, clip factors and sums are float32 under any autocast.

A person may bring several sequences (corpus/sequences.py): the forward then runs on P k rows,
person-major, and `clipped_backward` gets the P persons' losses (each the sum of the person's
sequences' losses). Each layer's kept tensors are regrouped [P k, T, ...] -> [P, k T, ...]
(layer_grads.by_person) before anything is formed, so one norm, one clip factor and one term of
the clipped sum belong to each person, never to a sequence: one person moves the sum by <= C
however many sequences they hold.

tests/training/test_book_keeping.py compares the clipped sum with a batch-of-one loop for every
layer type, at sequence lengths on both sides of each layer's choice, in float32 and under
bfloat16 autocast, and measures one person's effect on the sum (<= C);
tests/training/test_user_level.py does the same for persons with several sequences.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import torch
from torch import nn

from strongroom.errors import StrongroomError
from strongroom.training import layer_grads as lg

__all__ = ["BookKeepingModule", "UnsupportedLayerError"]


class UnsupportedLayerError(StrongroomError):
    """The model holds a trainable parameter that book-keeping clipping cannot clip."""


@dataclass
class _Call:
    """One call of a layer in the forward: per-person gradients, or what the ghost norm keeps."""

    per_person: dict[nn.Parameter, torch.Tensor] = field(default_factory=dict)  # [B, ...] each
    kept: tuple[torch.Tensor, torch.Tensor] | None = None  # (inputs, output grads) of the weight


def _trainable(param: nn.Parameter | None, trains: set[int]) -> bool:
    """Whether `param` was trainable when the pass began (inside it every one is frozen)."""
    return param is not None and id(param) in trains


# --- what each layer type contributes --------------------------------------------------------------


def _linear_call(
    layer: nn.Linear, inputs: torch.Tensor, grads: torch.Tensor, trains: set[int]
) -> _Call:
    a, g = lg.as_sequences(inputs), lg.as_sequences(grads)  # [B, T, d_in], [B, T, d_out]
    call = _Call()
    if _trainable(layer.bias, trains):
        call.per_person[layer.bias] = lg.bias_per_person(g)
    if _trainable(layer.weight, trains):
        if lg.instantiates(a.shape[1], layer.in_features, layer.out_features):
            call.per_person[layer.weight] = lg.linear_per_person(a, g)
        else:
            call.kept = (a, g)
    return call


def _embedding_call(
    layer: nn.Embedding, ids: torch.Tensor, grads: torch.Tensor, trains: set[int]
) -> _Call:
    g = lg.without_padding(ids, lg.as_sequences(grads), layer.padding_idx)  # [B, T, d]
    # The ghost norm keeps [T, d] a person, the instantiated gradient [rows, d]
    if layer.num_embeddings <= g.shape[1]:
        weight = lg.embedding_per_person(ids, g, layer.num_embeddings)
        return _Call(per_person={layer.weight: weight})
    return _Call(kept=(ids, g))


def _rms_norm_call(
    layer: nn.RMSNorm, inputs: torch.Tensor, grads: torch.Tensor, trains: set[int]
) -> _Call:
    # eps None means the input dtype's epsilon, as nn.RMSNorm computes it
    eps = layer.eps if layer.eps is not None else torch.finfo(inputs.dtype).eps
    shape = tuple(layer.normalized_shape)
    return _Call(per_person={layer.weight: lg.rms_norm_per_person(inputs, grads, shape, eps)})


def _instantiated(layer: nn.Module, kept: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    if isinstance(layer, nn.Embedding):
        return lg.embedding_per_person(*kept, layer.num_embeddings)
    return lg.linear_per_person(*kept)


def _ghost_squared_norms(layer: nn.Module, kept: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    if isinstance(layer, nn.Embedding):
        return lg.embedding_ghost_squared_norms(*kept)
    return lg.linear_ghost_squared_norms(*kept)


def _ghost_clipped_sum(
    layer: nn.Module, kept: tuple[torch.Tensor, torch.Tensor], factors: torch.Tensor
) -> torch.Tensor:
    if isinstance(layer, nn.Embedding):
        return lg.embedding_clipped_sum(*kept, factors, layer.num_embeddings)
    return lg.linear_clipped_sum(*kept, factors)


_CALLS = {nn.Linear: _linear_call, nn.Embedding: _embedding_call, nn.RMSNorm: _rms_norm_call}


def _refusal(name: str, layer: nn.Module) -> str | None:
    """Why `layer` cannot be clipped here (None: it can)."""
    kind = type(layer).__name__
    if type(layer) not in _CALLS:
        return f"layer {name!r} ({kind}) holds trainable parameters"
    if isinstance(layer, nn.Embedding) and (layer.sparse or layer.max_norm is not None):
        return f"embedding {name!r} is sparse or renormalised (max_norm)"
    if isinstance(layer, nn.Embedding) and layer.scale_grad_by_freq:
        return f"embedding {name!r} scales its gradient by frequency"
    return None


def trainable_layers(model: nn.Module) -> list[nn.Module]:
    """The layers holding trainable parameters; raises if any of them cannot be clipped."""
    layers, owner = [], {}
    for name, layer in model.named_modules():
        own = [p for p in layer.parameters(recurse=False) if p.requires_grad]
        if not own:
            continue
        problem = _refusal(name or "<root>", layer)
        for param in own:
            if id(param) in owner:
                problem = f"layers {owner[id(param)]!r} and {name!r} share a parameter"
            owner[id(param)] = name
        if problem:
            raise UnsupportedLayerError(
                f"book-keeping clipping cannot clip the model: {problem}; it knows nn.Linear, "
                "nn.Embedding and nn.RMSNorm with parameters of their own (clipping: ghost "
                "runs Opacus' own layer support)"
            )
        layers.append(layer)
    return layers


# --- the wrapper ------------------------------------------------------------------------------------


class BookKeepingModule(nn.Module):
    """`module` whose `clipped_backward`, inside `one_pass()`, writes clipped sums into `.grad`.

    Like Opacus' GradSampleModule it holds the model as `_module` and the last physical batch's
    per-person gradient norms as `per_sample_gradient_norms` ([B], float32).
    """

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self._module = module
        self._layers = trainable_layers(module)
        self.per_sample_gradient_norms: torch.Tensor | None = None
        self._inputs: dict[int, torch.Tensor] = {}  # call -> layer input, until its gradient
        self._calls: dict[nn.Module, list[_Call]] = {}
        self._counter = itertools.count()
        self._trains: set[int] = set()  # ids of the parameters this pass clips (and froze)
        self._active = False
        self._people = 0  # persons in the backward under way (the forward had k rows each)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self._module(*args, **kwargs)

    @contextmanager
    def one_pass(self) -> Iterator[BookKeepingModule]:
        """Parameters frozen and layers recorded for one forward and `clipped_backward`."""
        frozen = [p for layer in self._layers for p in layer.parameters(recurse=False)]
        frozen = [p for p in frozen if p.requires_grad]
        self._trains = {id(p) for p in frozen}
        hooks = [layer.register_forward_hook(self._on_forward) for layer in self._layers]
        for param in frozen:
            param.requires_grad_(False)  # autograd computes no weight gradient at all
        self._active = True
        try:
            yield self
        finally:
            self._active = False
            for param in frozen:
                param.requires_grad_(True)  # before the optimizer looks: it noises these only
            for hook in hooks:
                hook.remove()
            self._inputs.clear()
            self._calls.clear()

    def clipped_backward(self, losses: torch.Tensor, max_grad_norm: float) -> torch.Tensor:
        """Backward of per-person `losses` [B]; clipped per-person sums into `.grad`; the norms.

        The forward may have run on B k rows (k sequences a person, person-major): each person's
        k rows are then clipped together, as one person."""
        if not self._active:
            raise RuntimeError("clipped_backward runs inside one_pass(), after its forward")
        people = losses.shape[0]
        self._people = people
        losses.sum().backward()  # each person's own gradient: the hooks keep them apart
        with torch.autocast(losses.device.type, enabled=False):
            calls = {layer: self._one_call(layer, people, losses.device) for layer in self._layers}
            squared = sum(self._squared_norms(layer, call) for layer, call in calls.items())
            norms = squared.sqrt()  # [B] float32
            factors = (max_grad_norm / (norms + 1e-6)).clamp(max=1.0)  # as Opacus clips
            for layer, call in calls.items():
                self._write_clipped(layer, call, factors)
        self._calls.clear()
        self.per_sample_gradient_norms = norms
        return norms

    # hooks

    def _on_forward(self, layer: nn.Module, args: tuple[Any, ...], output: Any) -> Any:
        if not (self._active and torch.is_grad_enabled()):
            return None
        key = next(self._counter)
        self._inputs[key] = args[0].detach()
        if not output.requires_grad:  # first layer: input without gradient, weights frozen
            output = output.detach().requires_grad_(True)
        output.register_hook(partial(self._on_output_grad, layer, key))
        return output

    def _on_output_grad(self, layer: nn.Module, key: int, grads: torch.Tensor) -> None:
        inputs = self._inputs.pop(key)  # dropped here: instantiated layers keep [d_out, d_in]
        if grads.shape[0] != self._people:  # several sequences a person: one sample each
            ids = isinstance(layer, nn.Embedding)
            inputs = lg.by_person(inputs, self._people, features=not ids)
            grads = lg.by_person(grads, self._people)
        with torch.autocast(grads.device.type, enabled=False):
            call = _CALLS[type(layer)](layer, inputs, grads.detach(), self._trains)
        self._calls.setdefault(layer, []).append(call)

    # after the backward

    def _one_call(self, layer: nn.Module, people: int, device: torch.device) -> _Call:
        """A layer's calls merged; a layer the loss did not reach contributes zeros."""
        calls = self._calls.get(layer, [])
        if len(calls) == 1:
            return calls[0]
        merged = _Call()
        for param in layer.parameters(recurse=False):
            if id(param) in self._trains:
                merged.per_person[param] = torch.zeros(
                    people, *param.shape, dtype=torch.float32, device=device
                )
        for call in calls:  # a layer called twice: its gradient is the sum over the calls
            if call.kept is not None:
                call.per_person[layer.weight] = _instantiated(layer, call.kept)
            for param, grad in call.per_person.items():
                merged.per_person[param] += grad
        return merged

    def _squared_norms(self, layer: nn.Module, call: _Call) -> torch.Tensor:
        total = sum(lg.squared_norms(grad) for grad in call.per_person.values())
        if call.kept is not None:
            total = total + _ghost_squared_norms(layer, call.kept)
        return total

    def _write_clipped(self, layer: nn.Module, call: _Call, factors: torch.Tensor) -> None:
        sums = {param: lg.weighted_sum(grad, factors) for param, grad in call.per_person.items()}
        if call.kept is not None:
            sums[layer.weight] = _ghost_clipped_sum(layer, call.kept, factors)
        for param in layer.parameters(recurse=False):
            if id(param) not in self._trains:
                continue
            clipped = sums.get(param)
            if clipped is None:
                clipped = torch.zeros_like(param, dtype=torch.float32)
            clipped = clipped.to(param.dtype)
            param.grad = clipped if param.grad is None else param.grad + clipped
