"""`strongroom pretrain`: a non-private starting model trained on public text only, registered.

DP fine-tuning from a model trained on public data is what makes DP language models useful
(Li et al. 2021, "Large language models can be strong differentially private learners"; Yu et
al. 2022, "Differentially private fine-tuning of language models"). The public corpus comes from
a package installed with strongroom or a file the user declares public (corpus/public.py; nothing
is downloaded); training is the project's non-private loop (training/reference.py: plain Adam, no
clipping, no noise) from the preset's seeded random initialisation; the model is registered with
its provenance (tracking/public_model.py) for `training.init_from`. Tests: tests/test_pretrain.py.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from strongroom.corpus.public import load_public_corpus, public_tokens
from strongroom.corpus.tokenizer import PAD
from strongroom.errors import StrongroomError
from strongroom.model.config import preset
from strongroom.run_record.seal import file_sha256
from strongroom.tracking.public_model import PublicModelFacts, register_public_model
from strongroom.tracking.registry import Registered
from strongroom.training.reference import reference_batches, train_reference
from strongroom.training.settings import TrainSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class PretrainResult:
    registered: Registered
    facts: PublicModelFacts


def pretrain(
    *,
    corpus: str,
    model_preset: str,
    steps: int,
    batch_size: int,
    max_seq_len: int,
    learning_rate: float,
    tracking_uri: str,
    model_name: str,
    device: str = "auto",
    progress: bool = True,
) -> PretrainResult:
    """Train `model_preset` on public `corpus` (a packaged source or a public file) for `steps`
    steps of `batch_size` examples and register it as a public model version."""
    if steps < 1 or batch_size < 1:
        raise StrongroomError("pretrain needs --steps and --batch-size of at least 1")
    public = load_public_corpus(corpus)
    tokens = public_tokens(public, max_seq_len=max_seq_len)  # [examples, max_seq_len]
    cfg = replace(preset(model_preset), max_seq_len=max_seq_len)
    settings = TrainSettings(model_preset=model_preset, learning_rate=learning_rate, device=device)
    log.info(
        "pretraining preset %s on public %s: %d examples, %d steps of %d",
        model_preset, public.name, len(tokens), steps, batch_size,
    )  # fmt: skip
    result = train_reference(
        tokens, cfg, steps=steps, batch_size=batch_size, settings=settings, progress=progress,
        label="pretrain",
    )  # fmt: skip
    with tempfile.TemporaryDirectory() as scratch:
        checkpoint = Path(scratch) / "model.pt"
        torch.save(
            {"config": cfg.to_dict(), "state_dict": result.model.state_dict()}, checkpoint
        )  # the format model/artifact.py load_decoder reads
        facts = PublicModelFacts(
            only=True,
            corpus=public.name,
            package=public.package,
            package_version=public.package_version,
            corpus_sha256=public.sha256,
            preset=model_preset,
            model_config_json=_config_json(cfg.to_dict()),
            steps=result.steps,
            batch_size=batch_size,
            examples=len(tokens),
            tokens=trained_tokens(tokens, steps=steps, batch_size=batch_size),
            learning_rate=learning_rate,
            seconds=round(result.seconds, 2),
            weights_sha256=file_sha256(checkpoint),
        )
        registered = register_public_model(
            tracking_uri=tracking_uri, model_name=model_name, checkpoint=checkpoint, facts=facts
        )
    return PretrainResult(registered=registered, facts=facts)


def trained_tokens(tokens: np.ndarray, *, steps: int, batch_size: int) -> int:
    """Non-padding target tokens over the steps (the reference's batches, drawn again)."""
    targets = tokens[:, 1:]  # [examples, T-1]: what the loss is taken on
    per_example = (targets != PAD).sum(axis=1)  # [examples]
    return int(
        sum(per_example[rows].sum() for rows in reference_batches(len(tokens), batch_size, steps))
    )


def _config_json(config: dict[str, object]) -> str:
    import json

    return json.dumps(config, sort_keys=True)
