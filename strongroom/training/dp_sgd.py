"""DP-SGD with Opacus: Poisson sampling over people, per-person ghost clipping, Gaussian noise.

Each row of the training tensor is one person, so Opacus' per-sample clipping is per-person
clipping and its Poisson sampler samples people. The step count never exceeds the plan, and the
epsilon reported is the accountant's value for the steps actually taken.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from strongroom.errors import PrivacyBudgetError
from strongroom.model.config import GemmaConfig
from strongroom.model.gemma import GemmaDecoder, SequenceLoss, shift
from strongroom.privacy import norm_sampler  # noqa: F401  (registers the mixed norm sampler)
from strongroom.privacy.plan import DPPlan

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainSettings:
    learning_rate: float = 2e-3  # Adam; DP-SGD favours larger rates and larger batches
    seed: int = 0  # model init and, unless secure_mode, the sampler and noise
    secure_mode: bool = False  # cryptographically secure noise (slower; production profile)
    log_every: int = 10  # steps between progress lines


@dataclass
class TrainResult:
    model: GemmaDecoder
    steps: int
    epsilon: float
    losses: list[float] = field(default_factory=list)  # mean per-person loss of each step
    batch_sizes: list[int] = field(default_factory=list)  # Poisson batch size of each step
    seconds: float = 0.0

    def privacy(self, plan: DPPlan) -> dict[str, Any]:
        return {**plan.to_dict(), "steps_taken": self.steps, "epsilon": self.epsilon}


def _private_components(
    model: GemmaDecoder, tokens: np.ndarray, plan: DPPlan, settings: TrainSettings
) -> tuple[Any, Any, Any, Any, Any]:
    from opacus import PrivacyEngine

    data = TensorDataset(torch.from_numpy(tokens.astype(np.int64)))
    loader = DataLoader(data, batch_size=plan.expected_batch_size, shuffle=False)
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.learning_rate)
    engine = PrivacyEngine(accountant=plan.accountant, secure_mode=settings.secure_mode)
    private_model, private_opt, criterion, private_loader = engine.make_private(
        module=model,
        optimizer=optimizer,
        criterion=SequenceLoss(model.cfg.pad_id),
        data_loader=loader,
        noise_multiplier=plan.noise_multiplier,
        max_grad_norm=plan.max_grad_norm,
        poisson_sampling=True,
        grad_sample_mode="ghost",
    )
    if abs(private_loader.sample_rate - plan.sampling_rate) > 1e-12:
        raise PrivacyBudgetError(
            f"loader samples at {private_loader.sample_rate}, plan says {plan.sampling_rate}"
        )
    return engine, private_model, private_opt, criterion, private_loader


def _zero_grads(optimizer: Any) -> None:
    """An empty Poisson batch still takes its step: noise only, and the accountant counts it.

    Skipping it would make the step count depend on the data, which the accounting ignores.
    """
    for param in optimizer.params:
        param.grad = torch.zeros_like(param)


def train_dp(
    tokens: np.ndarray, model_cfg: GemmaConfig, plan: DPPlan, settings: TrainSettings
) -> TrainResult:
    """Train on `tokens` ([units, T] int, one row per person) following `plan` exactly."""
    if len(tokens) != plan.units:
        raise PrivacyBudgetError(f"plan is for {plan.units} units, data has {len(tokens)}")
    torch.manual_seed(settings.seed)
    model = GemmaDecoder(model_cfg)
    engine, private_model, optimizer, criterion, loader = _private_components(
        model, tokens, plan, settings
    )
    result = TrainResult(model=model, steps=0, epsilon=0.0)
    started = time.monotonic()
    private_model.train()
    while result.steps < plan.steps:
        for (batch,) in loader:
            if result.steps >= plan.steps:
                break  # never a step beyond the plan: the budget ends here
            optimizer.zero_grad(set_to_none=True)
            if len(batch):
                inputs, targets = shift(batch)  # [B, T-1] each
                loss = criterion(private_model(inputs), targets)
                loss.backward()
                result.losses.append(float(loss.detach()))
            else:
                _zero_grads(optimizer)
                result.losses.append(float("nan"))
            optimizer.step()  # clip, add noise, record the step with the accountant
            result.steps += 1
            result.batch_sizes.append(len(batch))
            if result.steps % settings.log_every == 0 or result.steps == plan.steps:
                log.info(
                    "step %d/%d loss %.4f batch %d", result.steps, plan.steps,
                    result.losses[-1], len(batch),
                )  # fmt: skip
    result.seconds = time.monotonic() - started
    result.epsilon = float(engine.accountant.get_epsilon(delta=plan.delta))
    if result.epsilon > plan.target_epsilon:
        raise PrivacyBudgetError(
            f"spent epsilon {result.epsilon:.4f} exceeds the target {plan.target_epsilon}"
        )
    return result


def save_checkpoint(path: str, result: TrainResult, plan: DPPlan) -> None:
    torch.save(
        {
            "config": result.model.cfg.to_dict(),
            "state_dict": result.model.state_dict(),
            "privacy": result.privacy(plan),
        },
        path,
    )


def load_checkpoint(path: str) -> tuple[GemmaDecoder, dict[str, Any]]:
    """Model (eval mode) and the checkpoint's privacy record."""
    data = torch.load(path, map_location="cpu", weights_only=True)
    model = GemmaDecoder(GemmaConfig.from_dict(data["config"]))
    model.load_state_dict(data["state_dict"])
    model.eval()
    return model, data["privacy"]
