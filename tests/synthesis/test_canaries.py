"""No training canary secret appears in 10,000 synthetic records.

A tiny model is DP-trained through the real stages on the demo corpus with canaries planted (a
64-token context: a canary is its secret's line, `note: reference no. <10 digits> ...`), then
persons are sampled freely (free sampling can write any line, guided sampling would force the
columns before the note into a short context) until 10,000 record lines are generated. Every
secret, of included and excluded canaries, is searched in all generated text, parsed or not.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from strongroom import stages
from strongroom.corpus.build import text_columns
from strongroom.corpus.canaries import Canaries
from strongroom.corpus.tokenizer import decode
from strongroom.model.artifact import load_decoder
from strongroom.privacy.plan import PrivacyParams
from strongroom.synthesis.decoding import Settings, generate
from strongroom.synthesis.record_text import RecordParser
from strongroom.training.settings import TrainSettings

RECORDS = 10_000


def _secrets(canaries: Canaries) -> list[str]:
    length = canaries.secret_length
    return [
        decode(canaries.tokens[i, start : start + length])
        for i, start in enumerate(canaries.secret_start)
    ]


def _leaked(texts: list[str], secrets: list[str]) -> int:
    return sum(secret in text for text in texts for secret in secrets)


@pytest.fixture(scope="module")
def short_model(stage_dirs, tmp_path_factory):
    root = tmp_path_factory.mktemp("canary-model")
    corpus, model_dir = str(root / "corpus"), str(root / "model")
    stages.corpus_stage(
        stage_dirs["deid"], "hospital_encounters", corpus, max_seq_len=64, canaries=16
    )
    stages.train_stage(
        corpus, model_dir, contract="hospital_encounters",
        privacy=PrivacyParams(target_epsilon=4.0, delta=1e-5, batch_size=4, epochs=2.0),
        training=TrainSettings(model_preset="tiny", seed=3), seal_key_file=str(root / "seal.key"),
    )  # fmt: skip
    model = load_decoder(next(Path(model_dir).rglob("*.pt")))
    return model, Canaries.load(corpus)


def test_no_canary_secret_appears_in_10000_synthetic_records(short_model, contract) -> None:
    model, canaries = short_model
    assert model.cfg.max_seq_len == 64 and canaries.included.any()
    secrets = _secrets(canaries)
    assert all(len(s) == canaries.secret_length and s.isdigit() for s in secrets)
    parser = RecordParser(text_columns(contract))
    generator = torch.Generator().manual_seed(11)
    texts: list[str] = []
    records = 0
    while records < RECORDS:
        batch = generate(model, 2048, settings=Settings(batch_size=2048), generator=generator)
        texts.extend(g.text for g in batch)
        records += sum(parser.parse(g.text, complete=g.complete).lines for g in batch)
    assert _leaked(texts, secrets) == 0
    # the search itself finds a secret where there is one (the test can fail)
    assert _leaked([*texts[:3], f"note: reference no. {secrets[0]} confirmed"], secrets) == 1
