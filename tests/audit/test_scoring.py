"""Secret scores against a one-sequence-at-a-time reference and greedy decoding itself."""

from dataclasses import replace

import numpy as np
import torch

from strongroom.audit.scoring import greedy_completions, secret_scores
from strongroom.model.config import preset
from strongroom.model.gemma import GemmaDecoder


def _model() -> GemmaDecoder:
    torch.manual_seed(3)
    return GemmaDecoder(replace(preset("tiny"), max_seq_len=64)).eval()


def _reference_loss(model: GemmaDecoder, prefix: np.ndarray, option: np.ndarray) -> float:
    ids = torch.tensor(np.concatenate([prefix, option])[None], dtype=torch.long)
    with torch.no_grad():
        log_probs = torch.log_softmax(model(ids[:, :-1])[0], -1)  # [T-1, V]
    return -sum(float(log_probs[len(prefix) - 1 + i, t]) for i, t in enumerate(option))


def test_scores_from_a_cached_prefix_equal_one_sequence_at_a_time():
    model, rng = _model(), np.random.default_rng(0)
    prefixes = [rng.integers(0, 256, size=n) for n in (1, 17, 11)]  # different lengths
    options = rng.integers(48, 58, size=(3, 4, 6))
    losses, _ = secret_scores(model, prefixes, options)
    for i in range(3):
        for j in range(4):
            reference = _reference_loss(model, prefixes[i], options[i, j])
            assert abs(losses[i, j] - reference) < 1e-4 * max(1.0, abs(reference))


def test_the_teacher_forced_check_agrees_with_greedy_decoding():
    model, rng = _model(), np.random.default_rng(1)
    prefixes = [rng.integers(0, 256, size=9) for _ in range(4)]
    greedy = greedy_completions(model, np.stack(prefixes), 5)  # [4, 5]
    other = greedy.copy()
    other[:, 2] = (other[:, 2] + 1) % 256  # one token off
    _, extracted = secret_scores(model, prefixes, np.stack([greedy, other], axis=1))
    assert extracted[:, 0].all() and not extracted[:, 1].any()
