"""The `training` group of a run's parameters: how a DP plan is run (the plan says what is spent).

Defined once: the pipeline, its components, `strongroom run` configs and the torchrun entry point
(`launch.py`, whose options are derived from these fields) all read this model.
"""

from __future__ import annotations

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from strongroom.privacy.mechanism import TOLERANCE

# Most people in one float32 clipped sum: the size at which one person's effect on the sum is
# measured <= C (tests/training/test_step.py); rounding of the sum grows with the batch.
MAX_PHYSICAL_BATCH = 512
CHOICES = {"clipping": ("ghost", "book_keeping"), "mixed_precision": ("off", "bf16")}


class TrainSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    model_preset: str = Field(default="demo", description="model size (strongroom.model.config)")
    learning_rate: float = Field(
        default=2e-3, gt=0, allow_inf_nan=False, description="Adam; DP-SGD likes larger rates"
    )
    seed: int | None = Field(
        default=None,
        description="none: sampling and noise from the OS CSPRNG (a DP release); a number makes "
        "the run reproducible, and NOT a DP release (every shipped policy fails it)",
    )
    physical_batch_size: int | None = Field(
        default=None,
        ge=1,
        le=MAX_PHYSICAL_BATCH,
        description=f"people per forward pass (at most {MAX_PHYSICAL_BATCH}); none: the whole "
        "logical batch, in passes of at most that many",
    )
    # str, not Literal, for the command-line options derived from these fields (config.py)
    clipping: str = Field(
        default="book_keeping",  # beat ghost on benchmarks/dp_overhead.py (docs/training.md)
        description="per-person clipping: book_keeping (one backward, weights' own gradients "
        "off, clipped sums formed from kept activations: training/book_keeping.py) or ghost "
        "(Opacus' fast gradient clipping, two backwards: the switch back to the library)",
    )
    mixed_precision: str = Field(
        default="off",
        description="bf16: forward and backward under bfloat16 autocast, norms and clipped sums "
        "still float32 (book_keeping only: ghost clipping runs float32 throughout)",
    )
    device: str = Field(default="auto", description="cpu | cuda | auto (cuda when available)")
    checkpoint_dir: str | None = Field(
        default=None, description="resumable state (a volume that outlives the pod); none: off"
    )
    checkpoint_every: int = Field(default=50, ge=1, description="steps between saved states")
    max_steps: int | None = Field(
        default=None, ge=1, description="stop at this step (epsilon of the steps taken)"
    )
    epsilon_every: int = Field(default=10, ge=1, description="steps between epsilon log lines")
    accountant_tolerance: float = Field(default=TOLERANCE, gt=0, description="PRV vs PLD, relative")
    reference: bool = Field(
        default=False,
        description="also train the same plan without privacy (a separate pipeline task; its "
        "weights are never kept) and record what privacy cost in held-out loss; doubles the "
        "training time; the torchrun entry point trains the DP model only",
    )
    reference_learning_rate: float | None = Field(
        default=None,
        gt=0,
        allow_inf_nan=False,
        description="Adam's rate for the non-private reference; none: learning_rate. Without "
        "noise Adam usually wants a lower rate than under DP-SGD (the demo's reference: 0.006 "
        "against 0.03, docs/training.md): the reference should be as good as the plan allows",
    )

    init_from: str | None = Field(
        default=None,
        description="start from a registered model trained on public text only (`strongroom "
        "pretrain`): models:/NAME/VERSION or NAME@ALIAS; its preset must be this run's. The "
        "non-private reference starts from it too. None: random initialisation",
    )

    @field_validator("model_preset")
    @classmethod
    def _known_preset(cls, name: str) -> str:
        from strongroom.model.config import PRESETS

        if name not in PRESETS:
            raise ValueError(f"unknown model preset {name!r}; choose from {sorted(PRESETS)}")
        return name

    @field_validator("clipping", "mixed_precision")
    @classmethod
    def _one_of(cls, value: str, info: ValidationInfo) -> str:
        allowed = CHOICES[info.field_name]
        if value not in allowed:
            raise ValueError(f"{info.field_name} is one of {', '.join(allowed)}")
        return value

    @model_validator(mode="after")
    def _autocast_needs_book_keeping(self) -> TrainSettings:
        if self.mixed_precision != "off" and self.clipping != "book_keeping":
            raise ValueError("mixed_precision bf16 needs clipping book_keeping")
        return self

    @property
    def reference_rate(self) -> float:
        """Adam's rate for the non-private reference of this run."""
        return self.reference_learning_rate or self.learning_rate

    @property
    def secure_rng(self) -> bool:
        """Sampling and noise from the CSPRNG: true unless a seed was given."""
        return self.seed is None
