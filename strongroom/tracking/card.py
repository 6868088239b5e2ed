"""The model card: the privacy guarantee, how it was obtained, and what is outside it."""

from __future__ import annotations

import math
from typing import Any

from strongroom.run_record.facts import REFERENCE_DECIMALS, Facts

_PRIVACY_ROWS = [
    ("epsilon", "privacy.epsilon", "reported: the larger of the two accountants"),
    ("epsilon (PRV)", "privacy.epsilon_prv", "Opacus privacy random variable accountant"),
    ("epsilon (PLD)", "privacy.epsilon_pld", "Google dp_accounting, privacy loss distributions"),
    ("delta", "privacy.delta", ""),
    ("privacy unit", "privacy.unit_name", "one person = one training example"),
    ("adjacency", "privacy.adjacency", "add or remove all of one person's records"),
    ("target epsilon", "privacy.target_epsilon", ""),
    ("noise multiplier", "privacy.noise_multiplier", "sigma"),
    ("sampling rate", "privacy.sampling_rate", "Poisson, per person"),
    ("steps", "privacy.steps", ""),
    ("clipping norm", "privacy.max_grad_norm", "per person, float32"),
    ("people in training", "privacy.units", "N (the audit's included canaries too), public"),
    ("secure randomness", "privacy.secure_rng", "sampling and noise from the OS CSPRNG"),
]


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _release_note(facts: Facts) -> str:
    if facts.privacy.secure_rng:
        return ""
    return (
        "\n> **NOT A DP RELEASE.** This run was seeded: whoever knows the seed can regenerate its "
        "sampling and noise, so the guarantee below does not hold. Use it for tests only; every "
        "shipped policy fails it.\n"
    )


def _bits(value: float | None) -> str:
    return "not measured" if value is None else f"{value:.2f} bits"


def _rate(value: float | None, low: float | None, high: float | None) -> str:
    if value is None:
        return "not measured"
    return f"{value:.4g} ({_fmt(low)} to {_fmt(high)})"


def audit_section(facts: Facts) -> str:
    """What the privacy audit measured: evidence for the guarantee, not part of it."""
    a, p = facts.audit, facts.privacy
    if a.confidence is None:
        return "## Privacy audit\n\nNo audit was recorded for this version.\n"
    if a.epsilon_lower_bound is None:
        bound = "no canaries were planted: no empirical lower bound"
    else:
        verdict = (
            "consistent with the claimed epsilon"
            if a.epsilon_lower_bound <= p.epsilon
            else "**ABOVE THE CLAIMED EPSILON: the guarantee does not hold for what ran**"
        )
        bound = (
            f"**{a.epsilon_lower_bound:.3f}** at {a.confidence:.0%} confidence "
            f"({a.correct_guesses} of {a.guesses} membership guesses right on {a.canaries} "
            f"canaries): {verdict} ({_fmt(p.epsilon)})"
        )
    return f"""## Privacy audit (evidence for the guarantee, measured after training)

{a.canaries} fabricated {p.unit_name}s ("canaries", each with a random {_fmt(a.exposure_space_bits)}-bit
secret) were planted in the corpus, each trained on with probability 1/2 like any {p.unit_name}.

- one-run empirical epsilon lower bound (Steinke, Nasr & Jagielski 2023): {bound}
- canary exposure (Carlini et al. 2019, skew-normal extrapolation): trained-on
  {_bits(a.exposure_included)}, never seen {_bits(a.exposure_excluded)} (about 1.44 bits is
  chance), highest {_bits(a.exposure_max)}; secrets extracted by greedy decoding:
  {_fmt(a.canaries_extracted)}
- loss-threshold membership inference, training vs held-out {p.unit_name}s (intervals at
  {a.confidence:.0%}): AUC {_rate(a.mia_auc, a.mia_auc_low, a.mia_auc_high)}; true-positive rate
  at 1% false positives {_rate(a.mia_tpr_at_1pct_fpr, a.mia_tpr_at_1pct_fpr_low, a.mia_tpr_at_1pct_fpr_high)},
  at 0.1% {_rate(a.mia_tpr_at_01pct_fpr, a.mia_tpr_at_01pct_fpr_low, a.mia_tpr_at_01pct_fpr_high)}
- memorisation (an example's start -> its next tokens, greedy): exact {_fmt(a.memorised_exact_train)},
  near-exact {_fmt(a.memorised_near_train)} for training {p.unit_name}s; exact
  {_fmt(a.memorised_exact_heldout)}, near-exact {_fmt(a.memorised_near_heldout)} for held-out
  ones (what the record format alone predicts)

A lower bound is what an attack proved, not what the model leaks at most: the accountant's
epsilon above is the guarantee. The audit's statistics are computed on trained-on {p.unit_name}s
and are outside the guarantee, like the evaluation above.
"""


def reference_section(facts: Facts) -> str:
    """What privacy cost: the DP model against the same plan trained without privacy."""
    r, e, p = facts.reference, facts.eval, facts.privacy
    if r.loss is None:  # nothing: the card of a run without one reads as it did before
        return ""
    return f"""
## What privacy cost (outside the guarantee, not DP)

{_reference_plan(facts)}

| held-out | DP model (this version) | non-private reference |
|---|---|---|
| loss (nats per byte, per {p.unit_name}) | {e.loss:.{_PLACES}f} | {r.loss:.{_PLACES}f} |
| perplexity | {e.perplexity:.{_PLACES}f} | {_fmt(r.perplexity)} |
{_records_rows(facts)}
DP / non-private held-out loss ratio: **{_fmt(r.loss_ratio)}** (1 would mean privacy cost nothing).

The reference's figures are NOT covered by the guarantee: they are statistics of a model trained on
the same {p.unit_name}s without differential privacy, so they carry a little information about
them beyond what the DP model does. They are published rounded to {_PLACES} decimals to limit
that (rounding limits, it does not bound, what they tell); where even that is too much, run without
`--reference`.
"""


def _reference_plan(facts: Facts) -> str:
    """What the reference shared with the DP run. Its Adam rate is named when the record keeps it
    (each run at the rate that suits it: without noise a lower one); a record sealed before the
    rate was kept gets the paragraph cards had then, word for word, so that its card still
    verifies (release.checked_facts renders the cards of records without a card digest)."""
    r, p = facts.reference, facts.privacy
    rate, dp_rate = r.learning_rate, facts.train.learning_rate
    if rate is None:
        return f"""The same plan ({_fmt(r.steps)} steps of {_fmt(r.batch_size)} {p.unit_name}s, same model,
initialisation, optimizer and learning rate, same training and held-out {p.unit_name}s) was also
trained **without** privacy: no clipping, no noise. That reference is never saved, registered or
served; it exists to say what the guarantee costs in quality."""
    same = f"same learning rate ({rate:g})" if rate == dp_rate else (
        f"Adam at {rate:g} where DP-SGD used {dp_rate:g}"
    )  # fmt: skip
    return f"""The same plan ({_fmt(r.steps)} steps of {_fmt(r.batch_size)} {p.unit_name}s, same model,
initialisation and optimizer, same training and held-out {p.unit_name}s) was also trained
**without** privacy: no clipping, no noise, {same}. That reference is never saved, registered or
served; it exists to say what the guarantee costs in quality."""


def _percent(share: float | None) -> str:
    return "-" if share is None else f"{100 * share:.0f}%"


def _records_line(facts: Facts) -> str:
    e = facts.eval
    if e.records_parsed_share is None:
        return ""
    return (
        f"- records it writes, sampled without format guidance: {_percent(e.records_parsed_share)}"
        " parse into the contract's columns, "
        f"{_percent(e.records_valid_share)} also pass its expectations (sampling the DP model "
        "is post-processing: within the guarantee)\n"
    )


def _records_rows(facts: Facts) -> str:
    e, r = facts.eval, facts.reference
    if e.records_parsed_share is None and r.records_parsed_share is None:
        return ""
    return (
        f"| records written that parse into the contract's columns | "
        f"{_percent(e.records_parsed_share)} | {_percent(r.records_parsed_share)} |\n"
        f"| records written that also pass its expectations | "
        f"{_percent(e.records_valid_share)} | {_percent(r.records_valid_share)} |\n"
    )


def starting_weights_line(facts: Facts) -> str:
    """Where training started: a public model (free in privacy), or random weights."""
    i = facts.init
    if i.model is None:
        return "random initialisation (seeded, data-independent)"
    shipped = (
        f"shipped in {i.package} {i.package_version}" if i.package else "a file declared public"
    )
    return (
        f"`{i.model}/{i.version}` (weights sha256 `{i.weights_sha256}`), trained on public text "
        f"only, no private data: corpus `{i.corpus}`, {shipped}, text sha256 `{i.corpus_sha256}`"
    )


def _init_note(facts: Facts) -> str:
    if facts.init.model is None:
        return ""
    return (
        "- Training started from a model trained on public text only (see Model): it saw no "
        f"{facts.privacy.unit_name}'s records, so starting from it costs no privacy and the "
        "accounting above is that of DP-SGD alone.\n"
    )


def _corpus_lines(facts: Facts) -> str:
    """One sequence a person: the line every card had before several were possible (so that
    versions registered before still match their card); more: the cap, clipped as one."""
    corpus, unit = facts.corpus, facts.privacy.unit_name
    if corpus.sequences_per_person == 1:
        return (
            f"- examples truncated at {_fmt(corpus.max_seq_len)} tokens: {_fmt(corpus.truncated)}\n"
        )
    return (
        f"- sequences per {unit}: up to {_fmt(corpus.sequences_per_person)} of "
        f"{_fmt(corpus.max_seq_len)} tokens, sampled together and clipped together (one clip of "
        f"norm C: the guarantee per {unit} is unchanged); {unit}s whose history did not fit: "
        f"{_fmt(corpus.truncated)}\n"
    )


def _loss_kind(facts: Facts) -> str:
    unit = facts.privacy.unit_name
    if facts.corpus.sequences_per_person == 1:
        return f"per {unit}"
    return f"per token over all of a {unit}'s sequences, mean over {unit}s"


def _reference_note(facts: Facts) -> str:
    if facts.reference.loss is None:
        return ""
    return (
        "- The non-private reference's figures are statistics of a model of the people trained "
        'on without DP (see "What privacy cost").\n'
    )


_PLACES = REFERENCE_DECIMALS
_BANNER_START = "> **FAILED THE GATE"


def failed_banner(policy: str, policy_version: int, failed_rules: list[str]) -> str:
    """What a failing version's description opens with, above its card."""
    return (
        f"{_BANNER_START}: policy {policy} v{policy_version}** (rules failed: "
        f"{', '.join(failed_rules)}). This version gets no alias and is never served.\n\n"
    )


def without_banner(description: str) -> str:
    """The card under any gate banners (a version may fail several policies)."""
    while description.startswith(_BANNER_START):
        _, _, description = description.partition("\n\n")
    return description


def plain_words(facts: Facts) -> str:
    """The guarantee in one paragraph for a privacy officer, before the figures."""
    p = facts.privacy
    odds = math.exp(p.epsilon)
    return (
        f"**In plain words.** Whether or not any one {p.unit_name}'s records were used in "
        f"training, what anyone can learn from this model (its weights, or anything it "
        f"generates) is almost the same. Whatever else an attacker knows, seeing the model can "
        f"multiply their odds that a given {p.unit_name} was in the training data by at most "
        f"e^epsilon = {_factor(odds)} (epsilon {p.epsilon:.3g}), except with probability delta = "
        f"{p.delta:.2g}. Smaller epsilon is stronger protection; the {p.unit_name}, not a "
        f"single record, is the protected unit, so a {p.unit_name} with many records is "
        "protected as a whole."
    )


def _factor(odds: float) -> str:
    return f"{odds:,.1f}" if odds < 10 else f"{odds:,.0f}" if odds < 1e6 else f"{odds:.3g}"


def lineage_section(facts: Facts) -> str:
    """Where the model came from."""
    lin = facts.lineage
    return f"""## Lineage

- code: {lin.code_version or "not recorded"}
- image: {lin.image or "none (a local run)"}
- Kubeflow run: {lin.kfp_run_id or "none (a local run)"}
- data contract `{facts.data.contract}`, sha256 `{lin.contract_sha256 or "not recorded"}`
- records fingerprint (sha256): `{facts.data.sha256}`
"""


def _unwrapped(markdown: str) -> str:
    """One line per paragraph and list item: the MLflow UI renders every source line break as a
    break, so text wrapped for the source would read broken there."""
    out: list[str] = []
    for line in markdown.split("\n"):
        previous = out[-1] if out else ""
        continues = (
            line.strip()
            and previous.strip()
            and not line.lstrip().startswith(("|", "- ", "#", ">"))
            and not previous.startswith(("|", "#"))
        )
        if continues:
            out[-1] = f"{previous.rstrip()} {line.strip()}"
        else:
            out.append(line)
    return "\n".join(out)


def render_card(model_name: str, facts: Facts) -> str:
    """Markdown card. Holds facts (counts, parameters), never a record value."""
    flat = facts.flat()
    rows = "\n".join(
        f"| {label} | {_fmt(flat[key])} | {note} |" for label, key, note in _PRIVACY_ROWS
    )
    p = facts.privacy
    stopped = (
        "\n- training stopped before its plan (SIGTERM or max_steps): the epsilon is that of the "
        "steps taken; the model is unfinished\n"
        if facts.train.stopped_early
        else ""
    )
    return _unwrapped(f"""# Model card: {model_name}
{_release_note(facts)}
A Gemma-style byte-level decoder trained with DP-SGD (Opacus) on de-identified
`{facts.data.contract}` records.

## Privacy guarantee

{plain_words(facts)}

Formally: ({_fmt(p.epsilon)}, {_fmt(p.delta)})-differential privacy with the **{p.unit_name}** as the
privacy unit (the contract declares the unit a {p.unit_kind}; column `{p.unit_column}`): adding or
removing all records of one {p.unit_name} changes the distribution of the trained weights by at
most that much. Sampling was Poisson over {p.unit_name}s, each contributed one example clipped in
float32 per step, and Gaussian noise was added to every step.
{stopped}
| quantity | value | note |
|---|---|---|
{rows}

All runs on the same records registered in this store, composed: epsilon
{_fmt(facts.ledger.cumulative_epsilon) if facts.ledger.cumulative_epsilon is not None else "computed by the gate"}
(`strongroom ledger --data {facts.data.sha256[:12]}`).

### Outside the guarantee

- The number of {p.unit_name}s N (and so the sampling rate, steps and noise) is treated as public.
- Held-out loss and perplexity below are exact statistics of {p.unit_name}s not trained on; they
  are published beside the guarantee, not covered by it.
{_reference_note(facts)}{_init_note(facts)}- Per-step loss, clip fraction and batch size are not published (they are exact statistics of
  the people trained on); they stay in the pipeline's training report.

## Data

- rows in: {_fmt(facts.validation.rows_in)}; quarantined: {_fmt(facts.validation.rows_quarantined)}
- validation passed: {_fmt(facts.validation.success)}
- identifiers removed: {_fmt(facts.deid.identifiers_removed)}; residual identifiers found:
  {_fmt(facts.deid.residual_identifiers)}; unit ids merged as one {p.unit_name}: {_fmt(facts.deid.unit_values_merged)}
{_corpus_lines(facts)}- records fingerprint (sha256): `{facts.data.sha256}`

## Evaluation (outside the guarantee)

- held-out loss ({_loss_kind(facts)}): {_fmt(facts.eval.loss)}; perplexity: {_fmt(facts.eval.perplexity)}
  on {_fmt(facts.eval.units)} {p.unit_name}s never used in training
{_records_line(facts)}{reference_section(facts)}
{audit_section(facts)}
## Model

- parameters: {_fmt(facts.model.parameters)}; preset: {facts.model.preset}
- weights sha256: `{facts.model.sha256}` (sealed with the run record)
- Starting weights: {starting_weights_line(facts)}
- tokenizer: bytes (fixed vocabulary, not learned from the data)

{lineage_section(facts)}""")
