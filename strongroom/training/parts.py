"""The live objects of a DP training run: Opacus' private model, optimizer and loader.

Built once per run (and per rank under torchrun). The loader draws exactly one Poisson batch per
pass (training/sampling.py), the accountant is told the loader's exact rate, and unless a seed is
given (tests, debugging) sampling and noise come from the CSPRNG (privacy/secure_rng.py).
Opacus is imported when the parts are built, not with this module: evaluation and serving load
checkpoints through training/dp_sgd.py without it.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from strongroom.errors import ConfigError, PrivacyBudgetError
from strongroom.model.config import GemmaConfig
from strongroom.model.gemma import GemmaDecoder, SequenceLoss
from strongroom.privacy.plan import DPPlan
from strongroom.privacy.secure_rng import use_secure_noise
from strongroom.training.sampling import one_batch_per_pass
from strongroom.training.settings import TrainSettings


@dataclass
class Parts:
    """The live objects of one run."""

    engine: Any  # opacus PrivacyEngine (its accountant)
    model: Any  # GradSampleModule (ghost) or BookKeepingModule around the decoder
    optimizer: Any  # DPOptimizerFastGradientClipping (its distributed form under torchrun)
    criterion: Any  # ghost: Opacus' two-backward loss wrapper; book-keeping: per-person losses
    loader: Any  # DPDataLoader: one Poisson batch per iteration
    sampler_rng: torch.Generator | None
    noise_rng: torch.Generator | None
    pad_id: int  # padding token: not counted as a trained token


def rank_and_world() -> tuple[int, int]:
    """(rank, world size) under torchrun; (0, 1) in a single process."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and rank_and_world()[1] > 1:  # one GPU per process under torchrun
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return torch.device(name)


def initial_model(
    model_cfg: GemmaConfig, settings: TrainSettings, initial: dict[str, torch.Tensor] | None
) -> GemmaDecoder:
    """The model training starts from, on its device: the given weights, or the seeded random
    initialisation (the non-private reference calls this too, so both start alike)."""
    torch.manual_seed(0 if settings.seed is None else settings.seed)  # init: data-independent
    model = GemmaDecoder(model_cfg)
    if initial is not None:
        model.load_state_dict(initial)  # strict: every tensor, each of its shape
    return model.to(resolve_device(settings.device))


def decoder_of(parts: Parts) -> GemmaDecoder:
    """The plain decoder inside Opacus' (and DDP's) wrappers."""
    inner = parts.model._module
    return inner.module if isinstance(inner, torch.nn.parallel.DistributedDataParallel) else inner


def build_parts(
    model: GemmaDecoder, tokens: np.ndarray, plan: DPPlan, settings: TrainSettings
) -> Parts:
    from opacus import PrivacyEngine

    _check_sequences(tokens, settings)
    device = next(model.parameters()).device
    rank, world = rank_and_world()
    sampler_rng = noise_rng = None
    if settings.seed is not None:  # reproducible, hence not a DP release (tests, debugging)
        # Each rank samples its own share of the people: independent draws per rank.
        sampler_rng = torch.Generator().manual_seed(settings.seed + 1 + 7919 * rank)
        noise_rng = torch.Generator(device).manual_seed(settings.seed + 2)
    # One row per person ([units, T] or [units, k, T]): the sampler draws persons, a drawn
    # person's k sequences come along. Still one Poisson draw per person and sensitivity C.
    data = TensorDataset(torch.from_numpy(tokens.astype(np.int64)))
    loader = DataLoader(
        data,
        batch_size=plan.expected_batch_size,
        generator=sampler_rng,
        pin_memory=device.type == "cuda",
    )
    fused = device.type == "cuda"  # one kernel for the whole Adam update
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.learning_rate, fused=fused)
    # Opacus' secure mode needs torchcsprng (no build for current torch): ours is in secure_rng.
    # PRV here only follows the run for the progress log; the epsilon reported at the end is the
    # mechanism's, under both accountants (privacy/mechanism.py).
    with warnings.catch_warnings():
        if settings.secure_rng:  # its "Secure RNG turned off" would be false: ours is on
            warnings.filterwarnings("ignore", message="Secure RNG turned off", category=UserWarning)
        engine = PrivacyEngine(accountant="prv", secure_mode=False)
    if world > 1:  # Opacus' DDP: per-rank clipping, noise added once (rank 0), gradients summed
        from opacus.distributed import DifferentiallyPrivateDistributedDataParallel as DPDDP

        wrapped: torch.nn.Module = DPDDP(model)
    else:
        wrapped = model
    private = _book_keeping if settings.clipping == "book_keeping" else _ghost
    private_model, private_opt, criterion, private_loader = private(
        engine, wrapped, optimizer, loader, plan, noise_rng, model.cfg.pad_id
    )
    if abs(private_loader.sample_rate - plan.sampling_rate) > 1e-15:
        raise PrivacyBudgetError(
            f"loader samples at {private_loader.sample_rate}, plan says {plan.sampling_rate}"
        )
    # Opacus derives the accountant's rate as 1 / int(1 / q), which for some sizes (q = 1/93)
    # is not the rate the loader samples at: account at the plan's (the loader's) exact rate.
    private_opt.attach_step_hook(
        engine.accountant.get_optimizer_hook_fn(sample_rate=plan.sampling_rate)
    )
    secure = use_secure_noise(private_opt) if settings.secure_rng else None
    one_batch_per_pass(private_loader, secure)
    return Parts(
        engine,
        private_model,
        private_opt,
        criterion,
        private_loader,
        sampler_rng,
        noise_rng,
        model.cfg.pad_id,
    )


def _check_sequences(tokens: np.ndarray, settings: TrainSettings) -> None:
    """Opacus' ghost clipping clips each sequence alone: with several a person, one person could
    move the clipped sum by k C while the accountant assumes C. Refused, not run."""
    several = tokens.ndim == 3 and tokens.shape[1] > 1
    if several and settings.clipping != "book_keeping":
        raise ConfigError(
            "training", [f"sequences_per_person {tokens.shape[1]} needs clipping book_keeping"]
        )


def _ghost(
    engine: Any,
    module: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    loader: DataLoader,
    plan: DPPlan,
    noise_rng: torch.Generator | None,
    pad_id: int,
) -> tuple[Any, Any, Any, Any]:
    """Opacus' own fast gradient clipping: the switch back to the library."""
    from strongroom.privacy import norm_sampler  # noqa: F401  (registers the mixed norm sampler)

    return engine.make_private(
        module=module,
        optimizer=optimizer,
        criterion=SequenceLoss(pad_id),
        data_loader=loader,
        noise_multiplier=plan.noise_multiplier,
        max_grad_norm=plan.max_grad_norm,
        poisson_sampling=True,
        noise_generator=noise_rng,
        grad_sample_mode="ghost",
    )


def _book_keeping(
    engine: Any,
    module: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    loader: DataLoader,
    plan: DPPlan,
    noise_rng: torch.Generator | None,
    pad_id: int,
) -> tuple[Any, Any, Any, Any]:
    """Opacus' loader, optimizer and accountant as make_private builds them for ghost clipping;
    the model's clipping is ours (training/book_keeping.py), so no Opacus hooks are attached."""
    from opacus.data_loader import DPDataLoader
    from opacus.optimizers import get_optimizer_class

    from strongroom.training.book_keeping import BookKeepingModule

    world = rank_and_world()[1]
    private_loader = DPDataLoader.from_data_loader(loader, distributed=world > 1)
    sample_rate = 1 / len(private_loader)
    expected_batch_size = int(len(private_loader.dataset) * sample_rate)
    if world > 1:  # as make_private: the per-rank expected batch
        expected_batch_size /= world
    optimizer_class = get_optimizer_class(
        clipping="flat", distributed=world > 1, grad_sample_mode="ghost"
    )
    private_opt = optimizer_class(
        optimizer=optimizer,
        noise_multiplier=plan.noise_multiplier,
        max_grad_norm=plan.max_grad_norm,
        expected_batch_size=expected_batch_size,
        loss_reduction="mean",
        generator=noise_rng,
        secure_mode=False,
    )
    criterion = SequenceLoss(pad_id, reduction="none")  # [b] per-person losses
    return BookKeepingModule(module), private_opt, criterion, private_loader
