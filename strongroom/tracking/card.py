"""The model card: the privacy guarantee and how it was obtained, in Markdown and JSON."""

from __future__ import annotations

from typing import Any

_PRIVACY_ROWS = [
    ("epsilon", "privacy.epsilon", "spent, by the training accountant"),
    ("epsilon (cross-check)", "privacy.epsilon_pld", "recomputed with dp_accounting PLD"),
    ("delta", "privacy.delta", ""),
    ("privacy unit", "privacy.unit", "one person = one training example"),
    ("target epsilon", "privacy.target_epsilon", ""),
    ("noise multiplier", "privacy.noise_multiplier", "sigma"),
    ("sampling rate", "privacy.sampling_rate", "Poisson, per person"),
    ("steps", "privacy.steps", ""),
    ("clipping norm", "privacy.max_grad_norm", "per person"),
    ("accountant", "privacy.accountant", ""),
    ("people in training", "privacy.units", ""),
]


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def render_card(model_name: str, facts: dict[str, Any]) -> str:
    """Markdown card. Holds facts (counts, parameters), never a record value."""
    rows = "\n".join(
        f"| {label} | {_fmt(facts.get(key, 'n/a'))} | {note} |"
        for label, key, note in _PRIVACY_ROWS
    )
    unit = facts.get("privacy.unit", "person")
    return f"""# Model card: {model_name}

A Gemma-style byte-level decoder trained with DP-SGD (Opacus) on de-identified
`{facts.get("data.contract", "?")}` records.

## Privacy guarantee

({_fmt(facts.get("privacy.epsilon"))}, {_fmt(facts.get("privacy.delta"))})-differential privacy
with the **person** as the privacy unit (column `{unit}`): adding or removing all records of one
person changes the distribution of the trained weights by at most that much. Sampling was Poisson over people, each
person contributed one clipped example per step, and Gaussian noise was added to every step.

| quantity | value | note |
|---|---|---|
{rows}

## Data

- rows in: {_fmt(facts.get("validation.rows_in"))}; quarantined: {_fmt(facts.get("validation.rows_quarantined"))}
- validation passed: {_fmt(facts.get("validation.success"))}
- identifiers removed: {_fmt(facts.get("deid.identifiers_removed"))}; residual identifiers found:
  {_fmt(facts.get("deid.residual_identifiers"))}
- examples truncated at {_fmt(facts.get("corpus.max_seq_len"))} tokens: {_fmt(facts.get("corpus.truncated"))}
- records fingerprint (sha256): `{facts.get("data.sha256", "?")}`

## Evaluation

- held-out loss (per person): {_fmt(facts.get("eval.loss"))}; perplexity: {_fmt(facts.get("eval.perplexity"))}
  on {_fmt(facts.get("eval.units"))} people never used in training

## Model

- parameters: {_fmt(facts.get("model.parameters"))}; preset: {facts.get("model.preset", "?")}
- tokenizer: bytes (fixed vocabulary, not learned from the data)
"""
