"""Labelled text the project did not write, and coverage scores for any labelled corpus.

Used by ``deid_recall.py``. The independent corpus is presidio-evaluator's sentence generator
(Microsoft's presidio-research, on PyPI as ``presidio-evaluator``): its own ~200 templates
(chat-style requests, addresses in several countries' orders, card and phone formats) filled by its
own Faker providers and its ``FakeNameGenerator.com_3000.csv`` people, with the span of every
filled slot. strongroom's detectors were never tuned on it. Only its data generator is used, so
``pip install --no-deps presidio-evaluator==0.3.2`` suffices (pyproject's ``bench`` extra). Its
hospital-name provider queries Wikidata when built; an offline one with its own default list
replaces it (no network at any time).

Scores, per labelled type: recall (every letter and digit of the span inside some finding),
partial recall (at least half of them), and per detected type precision (the finding overlaps a
labelled span); over-redaction is the share of letters and digits outside every labelled span
that some finding covers.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

LabelledSpan = tuple[int, int, str]  # (start, end, label)
Found = tuple[str, int, int]  # (entity type, start, end)

PATTERNED = ("CREDIT_CARD", "PHONE_NUMBER", "EMAIL_ADDRESS", "IBAN_CODE", "US_SSN", "IP_ADDRESS")


@dataclass(frozen=True)
class Labelled:
    text: str
    spans: tuple[LabelledSpan, ...]


def independent_sentences(n: int, seed: int) -> list[Labelled]:
    """`n` sentences from presidio-evaluator's generator (its templates, providers and people)."""
    from faker.providers import BaseProvider
    from presidio_evaluator.data_generator import PresidioSentenceFaker
    from presidio_evaluator.data_generator.faker_extensions import HospitalProvider
    from presidio_evaluator.data_generator.presidio_sentence_faker import (
        presidio_additional_entity_providers,
    )

    class OfflineHospitals(BaseProvider):  # the provider's own default list, without Wikidata
        def hospital_name(self) -> str:
            names = ["Apollo Hospital", "St. Peter", "Mount Sinai", "Providence"]
            return str(self.random_element(names))

    providers = [p for p in presidio_additional_entity_providers if p is not HospitalProvider]
    faker = PresidioSentenceFaker(
        "en_US",
        lower_case_ratio=0.05,
        entity_providers=[*providers, OfflineHospitals],
        random_seed=seed,
    )
    samples = faker.generate_new_fake_sentences(n)
    return [
        Labelled(
            s.full_text,
            tuple((sp.start_position, sp.end_position, sp.entity_type) for sp in s.spans),
        )
        for s in samples
    ]


# --- clinical content: codes, doses, lab values and headers, with identifiers among them --------

_CLINICAL_TEMPLATES = (
    "Dx {ICD} ({COND}); Rx {MED} PO daily. Seen by Dr. {LAST}.",
    "PMH: HTN, CHF, COPD. A/P: {ICD}, continue {MED}. Call {PHONE} with questions.",
    "DOB {DATE}. Hx of {COND}. Labs: Cr {CR} mg/dL, K {K}, HbA1c {A1C}%.",
    "CPT {CPT} billed for {FIRST} {LAST}; Dx {ICD}, {ICD}.",
    "LOINC {LOINC} resulted {LAB} mg/dL; Rx {MED} BID; f/u in 2 weeks with {FIRST}.",
    "Tx: {MED}. Allergies: NKDA. BP {BP}, HR {HR}. Dx {ICD}.",
    "Impression: {COND} ({ICD}). Plan: {MED} and CBC, BMP. MRN {MRN}.",
)
_ICD = ("I10", "E11.9", "J45.909", "J18.9", "N39.0", "I48.91", "F32.9", "K35.80", "S72.001A",
        "I50.9", "M54.50", "E78.5", "Z79.4", "R07.9", "G47.33")  # fmt: skip
_MEDS = ("metformin 500 mg", "lisinopril 10 mg", "apixaban 5 mg", "sertraline 50 mg",
         "furosemide 40 mg", "albuterol 2 puffs", "insulin glargine 20 units")  # fmt: skip
_CONDS = ("type 2 diabetes", "hypertension", "asthma", "pneumonia", "heart failure")
_LABELLED_SLOTS = {"LAST": "PERSON", "FIRST": "PERSON", "PHONE": "PHONE_NUMBER",
                   "DATE": "DATE_TIME", "MRN": "MEDICAL_RECORD_NUMBER"}  # fmt: skip


def clinical_sentences(n: int, seed: int) -> list[Labelled]:
    """Notes dense in clinical content (ICD-10, CPT, LOINC, doses, lab values, headers) with a
    few labelled identifiers: precision per detected type on clinical text."""
    from faker import Faker

    fake, rng = Faker("en_US"), random.Random(seed)
    fake.seed_instance(seed)
    values = {
        "ICD": lambda: rng.choice(_ICD), "MED": lambda: rng.choice(_MEDS),
        "COND": lambda: rng.choice(_CONDS), "LAST": fake.last_name, "FIRST": fake.first_name,
        "PHONE": lambda: fake.numerify("(###) 555-01##"), "DATE": lambda: fake.date("%m/%d/%Y"),
        "CR": lambda: f"{rng.uniform(0.5, 3):.1f}", "K": lambda: f"{rng.uniform(3, 5.5):.1f}",
        "A1C": lambda: f"{rng.uniform(5, 11):.1f}", "CPT": lambda: str(rng.choice((99213, 99214, 93000))),
        "LOINC": lambda: rng.choice(("4548-4", "2345-7", "2160-0", "718-7")),
        "LAB": lambda: str(rng.randint(60, 200)), "BP": lambda: f"{rng.randint(100, 160)}/{rng.randint(60, 95)}",
        "HR": lambda: str(rng.randint(55, 110)), "MRN": lambda: fake.numerify("########"),
    }  # fmt: skip
    out = []
    for _ in range(n):
        template, text, spans, pos = rng.choice(_CLINICAL_TEMPLATES), "", [], 0
        for match in re.finditer(r"\{(\w+)\}", template):
            text += template[pos : match.start()]
            value = values[match.group(1)]()
            if match.group(1) in _LABELLED_SLOTS:
                spans.append((len(text), len(text) + len(value), _LABELLED_SLOTS[match.group(1)]))
            text += value
            pos = match.end()
        out.append(Labelled(text + template[pos:], tuple(spans)))
    return out


# --- scores ---------------------------------------------------------------------------------------


@dataclass
class Coverage:
    labelled: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    full: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    half: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    detections: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    correct: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    outside: int = 0  # letters and digits outside every labelled span
    outside_covered: int = 0
    misses: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def recall(self, labels: Sequence[str]) -> float:
        return _ratio(sum(self.full[t] for t in labels), sum(self.labelled[t] for t in labels))

    def partial(self, labels: Sequence[str]) -> float:
        return _ratio(sum(self.half[t] for t in labels), sum(self.labelled[t] for t in labels))

    def precision(self, entity: str) -> float:
        return _ratio(self.correct[entity], self.detections[entity])

    @property
    def over_redaction(self) -> float:
        return _ratio(self.outside_covered, self.outside)


def _ratio(a: int, b: int) -> float:
    return a / b if b else float("nan")


def coverage(corpus: Sequence[Labelled], found: Sequence[Sequence[Found]]) -> Coverage:
    score = Coverage()
    for item, findings in zip(corpus, found, strict=True):
        covered = [False] * len(item.text)
        for _, start, end in findings:
            covered[start:end] = [True] * (end - start)
        labelled = [False] * len(item.text)
        for start, end, label in item.spans:
            labelled[start:end] = [True] * (end - start)
            chars = [i for i in range(start, end) if item.text[i].isalnum()]
            hit = sum(covered[i] for i in chars)
            score.labelled[label] += 1
            score.full[label] += hit == len(chars)
            score.half[label] += 2 * hit >= len(chars)
            if hit < len(chars) and len(score.misses[label]) < 5:
                score.misses[label].append(item.text[start:end])
        for entity, start, end in findings:
            score.detections[entity] += 1
            score.correct[entity] += any(s < end and start < e for s, e, _ in item.spans)
        rest = [i for i, ch in enumerate(item.text) if ch.isalnum() and not labelled[i]]
        score.outside += len(rest)
        score.outside_covered += sum(covered[i] for i in rest)
    return score


def side_by_side(title: str, ours: Coverage, stock: Coverage, other: str = "stock") -> list[str]:
    """Per labelled type: recall and partial recall, ours and stock; then precision per detected
    type and over-redaction."""
    f = _fmt
    lines = [title, f"{'labelled type':<22}{'spans':>6}  {'recall':>7} {'partial':>7}  {other}: "
             f"{'recall':>7} {'partial':>7}"]  # fmt: skip
    for label in sorted(ours.labelled, key=lambda t: -ours.labelled[t]):
        lines.append(
            f"{label:<22}{ours.labelled[label]:>6}  {f(ours.recall([label])):>7} "
            f"{f(ours.partial([label])):>7}         {f(stock.recall([label])):>7} "
            f"{f(stock.partial([label])):>7}"
        )
    pooled = [t for t in PATTERNED if ours.labelled.get(t)]
    n = sum(ours.labelled[t] for t in pooled)
    lines.append(
        f"{'patterned pooled':<22}{n:>6}  {f(ours.recall(pooled)):>7} {f(ours.partial(pooled)):>7}"
        f"         {f(stock.recall(pooled)):>7} {f(stock.partial(pooled)):>7}"
    )
    lines.append(
        f"{'detected type':<28}{'found':>6} {'precision':>9}  stock: {'found':>6} {'precision':>9}"
    )
    for entity in sorted(set(ours.detections) | set(stock.detections)):
        lines.append(
            f"{entity:<28}{ours.detections.get(entity, 0):>6} {f(ours.precision(entity)):>9}"
            f"         {stock.detections.get(entity, 0):>6} {f(stock.precision(entity)):>9}"
        )
    lines.append(
        f"over-redaction of unlabelled text: {f(ours.over_redaction)} ({other} "
        f"{f(stock.over_redaction)})"
    )
    return lines


def _fmt(x: float) -> str:
    return "nan" if x != x else f"{x:.3f}"
