"""Recall and precision of the de-identification detectors on labelled synthetic text.

Run it from the repository root:

    .venv/bin/python benchmarks/deid_recall.py [--sentences 1000] [--records 500] [--seed 0]

Two measurements, both on text whose labels come from a generator, never from our detectors:

1. Generic sentences. About 50 clinical- and banking-style templates ("Pt {PERSON} (MRN {MRN})
   called from {PHONE} ...") are filled by Faker (en_US and en_GB; IBANs also de/fr/nl/es),
   and the character span of every filled slot is recorded. Formats vary as they do in real text:
   Faker's phone formats (country codes, parentheses, extensions), card numbers of the networks in
   circulation written bare or grouped (4-4-4-4, Amex 4-6-5, Diners 4-6-4), IBANs compact or in
   groups of four, SSNs with dashes, spaces or none, MRNs and account numbers after their keyword
   written in several ways ("MRN", "med rec #", "medical record number", "acct no.", "a/c").
   Each sentence goes through ``redact.detect`` (the pipeline's analyzer, at ``SCORE_THRESHOLD``).
   * recall: a labelled span counts as found when every letter and digit of it lies inside some
     finding, of any entity type (what matters for privacy is that the characters are redacted);
   * typed recall: found, and a finding of the span's own type overlaps it;
   * precision, per detected type: the share of its findings that overlap a labelled span (of any
     type). Dates, cities and street addresses are labelled too (no target), so that their
     detectors' precision means something; amounts, doses, merchants and references are not.
2. Names in the demo records (record-aware). Hospital notes (``demo.generate_encounters``) and
   bank complaint narratives and memos (``demo_bank.generate_transactions``) name their own
   person. The labels are that record's name column: its whole-word, case-insensitive occurrences
   in the text (the full name, then its single words outside full-name matches). The text goes
   through the pipeline's two passes, ``scrub_known_values`` with ``deidentify._known_values``
   and then ``redact.redact_texts``; recall is the share of occurrences gone afterwards (counted
   before and after, per record, whatever their position). The same occurrences are measured
   after Presidio alone, and the names of the relatives and doctors that the hospital notes
   mention (not in the record, so only Presidio can find them), after both passes, as well.

Targets (exit 1 when one is missed, 0 when all are met): recall >= 0.99 for US_SSN, PHONE_NUMBER,
EMAIL_ADDRESS, MEDICAL_RECORD_NUMBER, ACCOUNT_NUMBER, CREDIT_CARD and IBAN_CODE on the generic
sentences; >= 0.95 for the record-aware demo names. Name recall on the generic sentences and every
precision are reported. Stdout: the table; recall of cards, IBANs and phones by the shape of the
value (card prefix and length, IBAN country, and whether libphonenumber holds a phone number valid:
Faker draws many from fictional or unassigned ranges, which Presidio's phone recognizer rejects,
so ``recall_PHONE_NUMBER_valid_numbers`` is printed too); the demo lines; five misses per type
(the span only: the data are synthetic) and five false positives per detected type; and as the last
line ``name=value`` pairs. Progress goes to stderr. About 25 s on two CPU cores at the defaults.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd
from deid_corpora import (
    PATTERNED,
    Coverage,
    Labelled,
    clinical_sentences,
    coverage,
    independent_sentences,
    side_by_side,
)
from faker import Faker

from strongroom.deid import redact
from strongroom.deid.deidentify import _known_values, scrub_record_values
from strongroom.deid.engine import find_entities, setup
from strongroom.demo.bank import generate_transactions
from strongroom.demo.hospital import generate_encounters
from strongroom.records.contract import Contract, load_contract

TARGETS: dict[str, float] = {
    "US_SSN": 0.99,
    "PHONE_NUMBER": 0.99,
    "EMAIL_ADDRESS": 0.99,
    "MEDICAL_RECORD_NUMBER": 0.99,
    "ACCOUNT_NUMBER": 0.99,
    "CREDIT_CARD": 0.99,
    "IBAN_CODE": 0.99,
}
DEMO_NAME_TARGET = 0.95
MISS_EXAMPLES = 5

# --- generic sentences ----------------------------------------------------------------------------

CLINICAL_TEMPLATES = (
    "Pt {PERSON} (MRN {MRN}) called from {PHONE} asking about her {MED} refill.",
    "{PERSON}, MRN: {MRN}, seen in clinic on {DATE} for {COND}.",
    "Medical record number {MRN} belongs to {PERSON}; SSN on file: {SSN}.",
    "Patient {PERSON} was admitted on {DATE} with {COND}. Contact number {PHONE}.",
    "Spoke with patient's daughter {PERSON} at {PHONE}; she will bring the insurance card.",
    "Discharge summary for {LAST}, {FIRST} - med rec # {MRN}. Follow-up with Dr. {LAST}.",
    "Mrs. {LAST} reports improvement on {MED}. Email on file {EMAIL}.",
    "{FIRST} tolerated the procedure well. Family notified at {PHONE}.",
    "Referral sent for {PERSON} (DOB {DATE}, MRN#{MRN}) to cardiology.",
    "SSN {SSN} verified at registration for {PERSON}.",
    "Social security number: {SSN}. Preferred contact: {EMAIL}.",
    "Lab results for MRN {MRN} were faxed; patient prefers a call at {PHONE}.",
    "Hospital number {MRN}. {PERSON} lives at {ADDRESS}, {CITY}.",
    "Pt {LAST} is a {AGE}-year-old with {COND}, seen by Dr. {PERSON} on {DATE}.",
    "Called {PERSON} on {PHONE} to reschedule; left voicemail.",
    "Please send the records for chart {MRN} to {EMAIL}.",
    "{PERSON} (SSN {SSN}) requests a copy of medical record {MRN}.",
    "Nurse note: {PERSON} ambulating independently, pain 3/10, on {MED}.",
    "Husband {PERSON} is the emergency contact, phone {PHONE}, email {EMAIL}.",
    "Portal message from {EMAIL}: can Dr. {LAST} renew my {MED}?",
    "MRN {MRN} / {PERSON} / DOB {DATE} / tel {PHONE}",
    "Billing: patient {PERSON} paid by card {PAN}; statement to {ADDRESS}.",
    "Insurance denied; patient's SSN {SSN} and MRN {MRN} sent to billing.",
    "Transferred from {CITY} General on {DATE}. Patient {PERSON} alert and oriented.",
    "Consent signed by {PERSON} and witnessed by {PERSON}.",
    "Medical Record No. {MRN}: {PERSON} declined the flu vaccine.",
    "Pharmacy called at {PHONE} about {PERSON}'s {MED} prescription.",
)
BANKING_TEMPLATES = (
    "Please refund card {PAN} and credit IBAN {IBAN} with the difference.",
    "Customer {PERSON} disputes a charge on card {PAN} dated {DATE}.",
    "Transfer of {AMOUNT} from account {ACCOUNT} to {IBAN} ref {REF}.",
    "Acct {ACCOUNT} flagged for review; holder {PERSON}, tel {PHONE}.",
    "My account number is {ACCOUNT}. Please call me on {PHONE}.",
    "Cardholder: {PERSON_UPPER}  PAN: {PAN}",
    "Wire {AMOUNT} to {PERSON}, IBAN {IBAN}, by {DATE}.",
    "Customer emailed from {EMAIL} asking why account {ACCOUNT} was frozen.",
    "Standing order to {PERSON} (acct no. {ACCOUNT}) cancelled on {DATE}.",
    "Card {PAN} reported stolen by {PERSON} in {CITY}.",
    "Please send the new card to {ADDRESS}, {CITY}. Contact {EMAIL}.",
    "KYC: {PERSON}, SSN {SSN}, phone {PHONE}, address {ADDRESS}.",
    "Direct debit from savings account {ACCOUNT} failed; notify {EMAIL}.",
    "Chargeback on {PAN} for {AMOUNT} at {MERCHANT}.",
    "Beneficiary {PERSON}, IBAN: {IBAN}, reference {REF}.",
    "I am {PERSON} and someone used my card {PAN} at {MERCHANT} on {DATE}.",
    "Refund {AMOUNT} to the customer's account {ACCOUNT} and email the receipt to {EMAIL}.",
    "Checking account {ACCOUNT} belongs to {PERSON}; verified SSN {SSN}.",
    "Call back requested on {PHONE} regarding the payment to IBAN {IBAN}.",
    "Mr {LAST} says the payment from a/c {ACCOUNT} never arrived.",
    "Loan application: {PERSON}, social security number {SSN}, monthly income {AMOUNT}.",
    "Fraud team: card {PAN} blocked, customer {PERSON} contacted at {PHONE}.",
    "Please update the email on account {ACCOUNT} to {EMAIL}.",
    "Payment from {IBAN} received on {DATE} for {AMOUNT}.",
    "Ms {LAST} ({EMAIL}) wants a statement for acct {ACCOUNT}.",
    "Complaint from {PERSON} of {ADDRESS}: card {PAN} was charged twice.",
    "Overdraft fee refunded; customer {FIRST} thanked the agent.",
)

# slot -> entity label; slots not listed here are filler, not identifiers.
SLOT_LABELS: dict[str, str] = {
    "PERSON": "PERSON",
    "PERSON_UPPER": "PERSON",
    "FIRST": "PERSON",
    "LAST": "PERSON",
    "SSN": "US_SSN",
    "PHONE": "PHONE_NUMBER",
    "EMAIL": "EMAIL_ADDRESS",
    "MRN": "MEDICAL_RECORD_NUMBER",
    "ACCOUNT": "ACCOUNT_NUMBER",
    "PAN": "CREDIT_CARD",
    "IBAN": "IBAN_CODE",
    "DATE": "DATE_TIME",
    "CITY": "LOCATION",
    "ADDRESS": "STREET_ADDRESS",
}
_SLOT = re.compile(r"\{(\w+)\}")

# Card networks in circulation (Faker's card types), weighted roughly by share; digit groups.
_CARDS = {"visa16": 45, "mastercard": 30, "amex": 10, "discover": 8, "jcb16": 3, "diners": 3}
_CARDS |= {"visa19": 1}  # rare, but issued
_CARD_GROUPS = {15: (4, 6, 5), 14: (4, 6, 4), 19: (4, 4, 4, 4, 3), 16: (4, 4, 4, 4)}
_IBAN_LOCALES = ("en_GB",) * 6 + ("de_DE", "fr_FR", "nl_NL", "es_ES")
_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%d/%m/%Y", "%d %B %Y", "%B %d, %Y")
_MEDS = ("metformin 500 mg", "lisinopril 10 mg", "albuterol", "apixaban 5 mg", "sertraline 50 mg")
_CONDS = ("type 2 diabetes", "hypertension", "asthma", "pneumonia", "atrial fibrillation")
_MERCHANTS = ("Tesco", "Amazon UK", "Shell", "Pret A Manger", "Trainline", "John Lewis")


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    label: str


@dataclass(frozen=True)
class Sentence:
    domain: str
    text: str
    spans: tuple[Span, ...]


@dataclass(frozen=True)
class Finding:
    start: int
    end: int
    entity: str


def progress(message: str) -> None:
    print(f"[deid_recall] {message}", file=sys.stderr, flush=True)


def _group(digits: str, sizes: Sequence[int], sep: str) -> str:
    parts, i = [], 0
    for size in sizes:
        parts.append(digits[i : i + size])
        i += size
    return sep.join(p for p in parts if p)


class Fillers:
    """Faker-backed values for each template slot, seeded."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.fakers: dict[str, Faker] = {}
        for i, locale in enumerate(("en_US", "en_GB", *_IBAN_LOCALES[-4:])):
            self.fakers[locale] = Faker(locale)
            self.fakers[locale].seed_instance(seed * 100 + i)
        self.slots: dict[str, Callable[[], str]] = {
            "PERSON": self.person, "PERSON_UPPER": lambda: self.person().upper(),
            "FIRST": lambda: self.fake().first_name(), "LAST": lambda: self.fake().last_name(),
            "SSN": self.ssn, "PHONE": self.phone, "EMAIL": self.email, "MRN": self.mrn,
            "ACCOUNT": self.account, "PAN": self.pan, "IBAN": self.iban, "DATE": self.date,
            "CITY": lambda: self.fake().city(), "ADDRESS": self.address, "AMOUNT": self.amount,
            "REF": lambda: self.fake().bothify("??######").upper(),
            "MED": lambda: self.rng.choice(_MEDS), "COND": lambda: self.rng.choice(_CONDS),
            "MERCHANT": lambda: self.rng.choice(_MERCHANTS),
            "AGE": lambda: str(self.rng.randint(18, 88)),
        }  # fmt: skip

    def fake(self) -> Faker:
        return self.fakers[self.rng.choice(("en_US", "en_GB"))]

    def person(self) -> str:
        f = self.fake()
        first, last, r = f.first_name(), f.last_name(), self.rng.random()
        if r < 0.1:
            return f"{first} {f.first_name()[0]}. {last}"
        if r < 0.2:
            return f"{first} {f.first_name()} {last}"
        return f"{first} {last}"

    def ssn(self) -> str:
        value = self.fakers["en_US"].ssn()
        forms = (value, value.replace("-", ""), value.replace("-", " "))
        return self.rng.choices(forms, weights=(8, 1, 1))[0]

    def phone(self) -> str:
        r = self.rng.random()
        if r < 0.5:
            return self.fakers["en_US"].phone_number()
        if r < 0.8:
            return self.fakers["en_GB"].phone_number()
        return self.fakers["en_GB"].cellphone_number()

    def email(self) -> str:
        f = self.fake()
        return self.rng.choice((f.email, f.free_email, f.company_email))()

    def mrn(self) -> str:
        return self.fakers["en_US"].numerify("#" * self.rng.choice((6, 7, 7, 8, 8, 8, 9, 10)))

    def account(self) -> str:
        return self.fakers["en_US"].numerify("#" * self.rng.choice((8, 8, 8, 10, 12, 14, 17)))

    def pan(self) -> str:
        kind = self.rng.choices(list(_CARDS), weights=list(_CARDS.values()))[0]
        number = self.fake().credit_card_number(card_type=kind)
        sep = self.rng.choices(("", " ", "-"), weights=(4, 4, 2))[0]
        return _group(number, _CARD_GROUPS.get(len(number), (4,) * 5), sep) if sep else number

    def iban(self) -> str:
        value = self.fakers[self.rng.choice(_IBAN_LOCALES)].iban()
        return _group(value, (4,) * 9, " ") if self.rng.random() < 0.5 else value

    def date(self) -> str:
        day = self.fakers["en_US"].date_between(date(1930, 1, 1), date(2025, 12, 31))
        return day.strftime(self.rng.choice(_DATE_FORMATS))

    def address(self) -> str:
        return self.fake().street_address().replace("\n", ", ")

    def amount(self) -> str:
        symbol = self.rng.choice(("£", "$", "€"))
        return f"{symbol}{self.rng.randint(1, 5000)}.{self.rng.randint(0, 99):02d}"


def fill(template: str, fillers: Fillers, domain: str) -> Sentence:
    """The template with every slot filled, and the span of each labelled slot."""
    text: list[str] = []
    spans: list[Span] = []
    pos = length = 0
    for match in _SLOT.finditer(template):
        text.append(template[pos : match.start()])
        length += match.start() - pos
        value = fillers.slots[match.group(1)]()
        if match.group(1) in SLOT_LABELS:
            spans.append(Span(length, length + len(value), SLOT_LABELS[match.group(1)]))
        text.append(value)
        length += len(value)
        pos = match.end()
    text.append(template[pos:])
    return Sentence(domain, "".join(text), tuple(spans))


def generate_sentences(n: int, seed: int) -> list[Sentence]:
    """n sentences, half clinical and half banking, from the templates filled by Faker."""
    fillers = Fillers(seed)
    out = []
    domains = (("clinical", CLINICAL_TEMPLATES), ("banking", BANKING_TEMPLATES))
    for i in range(n):
        domain, templates = domains[i % 2]
        out.append(fill(fillers.rng.choice(templates), fillers, domain))
    return out


# --- detection and scoring ------------------------------------------------------------------------


def analyze(texts: Sequence[str]) -> list[list[Finding]]:
    """Presidio findings at the redaction threshold, as the pipeline's redact_texts gets them."""
    return [
        [Finding(start, end, entity) for entity, start, end, _ in found]
        for found in redact.detect(list(texts))
    ]


@dataclass
class TypeScore:
    labelled: int = 0
    found: int = 0
    typed: int = 0
    detections: int = 0
    correct: int = 0
    misses: list[str] = field(default_factory=list)
    false_positives: list[str] = field(default_factory=list)


def _covered(span: Span, text: str, findings: Iterable[Finding]) -> bool:
    """Every letter and digit of the span lies inside some finding."""
    mask = [False] * (span.end - span.start)
    for f in findings:
        for i in range(max(f.start, span.start), min(f.end, span.end)):
            mask[i - span.start] = True
    return all(m for m, ch in zip(mask, text[span.start : span.end], strict=True) if ch.isalnum())


def _overlaps(a: Span | Finding, b: Span | Finding) -> bool:
    return a.start < b.end and b.start < a.end


def _describe_miss(span: Span, text: str, findings: Sequence[Finding]) -> str:
    parts = [
        f"{f.entity} {text[max(f.start, span.start) : min(f.end, span.end)]!r}"
        for f in findings
        if _overlaps(f, span)
    ]
    return f"{text[span.start : span.end]!r}" + (f" (partly: {', '.join(parts)})" if parts else "")


def score(
    sentences: Sequence[Sentence], found: Sequence[Sequence[Finding]]
) -> dict[str, TypeScore]:
    scores: dict[str, TypeScore] = defaultdict(TypeScore)
    for sentence, findings in zip(sentences, found, strict=True):
        for span in sentence.spans:
            s = scores[span.label]
            s.labelled += 1
            if _covered(span, sentence.text, findings):
                s.found += 1
                s.typed += any(f.entity == span.label and _overlaps(f, span) for f in findings)
            elif len(s.misses) < MISS_EXAMPLES:
                s.misses.append(_describe_miss(span, sentence.text, findings))
        for f in findings:
            s = scores[f.entity]
            s.detections += 1
            if any(_overlaps(f, span) for span in sentence.spans):
                s.correct += 1
            elif len(s.false_positives) < MISS_EXAMPLES:
                s.false_positives.append(repr(sentence.text[f.start : f.end]))
    return dict(scores)


def _card_shape(value: str) -> str:
    digits = re.sub(r"\D", "", value)
    return f"starts {digits[0]}, {len(digits)} digits" + (", grouped" if digits != value else "")


def _iban_shape(value: str) -> str:
    return f"{value[:2]} {'grouped' if ' ' in value else 'compact'}"


def _phone_shape(value: str) -> str:
    """Region and whether libphonenumber holds the number valid (Faker uses fictional ranges)."""
    import phonenumbers

    region = "GB" if value.startswith(("+44", "0", "(0")) else "US"
    try:
        valid = phonenumbers.is_valid_number(phonenumbers.parse(value, region))
    except phonenumbers.NumberParseException:
        valid = False
    return f"{region} {'valid' if valid else 'invalid'} per libphonenumber"


SHAPES: dict[str, Callable[[str], str]] = {
    "CREDIT_CARD": _card_shape,
    "IBAN_CODE": _iban_shape,
    "PHONE_NUMBER": _phone_shape,
}


def breakdown(
    sentences: Sequence[Sentence], found: Sequence[Sequence[Finding]]
) -> dict[tuple[str, str], TypeScore]:
    """Recall of cards, IBANs and phones by the shape of the value, to tell gaps from artifacts."""
    shapes: dict[tuple[str, str], TypeScore] = defaultdict(TypeScore)
    for sentence, findings in zip(sentences, found, strict=True):
        for span in sentence.spans:
            if span.label not in SHAPES:
                continue
            s = shapes[span.label, SHAPES[span.label](sentence.text[span.start : span.end])]
            s.labelled += 1
            if _covered(span, sentence.text, findings):
                s.found += 1
                s.typed += any(f.entity == span.label and _overlaps(f, span) for f in findings)
    return dict(shapes)


# --- names in the demo records --------------------------------------------------------------------

_HONORIFICS = {"mr", "mrs", "ms", "miss", "dr", "jr", "sr", "md", "dds", "phd", "dvm", "ii"}
# Where the hospital note templates (demo._NOTE_TEMPLATES) put people who are not the patient.
_OTHER_PEOPLE = (
    re.compile(r"\bDaughter (.+?) can be reached"),
    re.compile(r"\bHusband (.+?) at bedside"),
    re.compile(r"\bDr\. (\S+) in two weeks"),
)


@dataclass(frozen=True)
class NameCase:
    source: str
    text: str
    name: str
    known: dict[str, str]


def _word(term: str) -> re.Pattern[str]:
    body = r"\s+".join(re.escape(w) for w in term.split())
    return re.compile(rf"(?<!\w){body}(?!\w)", re.IGNORECASE)


def name_words(name: str) -> list[str]:
    words = [w.strip(".,") for w in name.split()]
    return [w for w in words if w and w.lower() not in _HONORIFICS and any(c.isalpha() for c in w)]


def count_name(text: str, name: str) -> int:
    """Occurrences of the full name, then of its single words outside those full matches."""
    words = name_words(name)
    if not words:
        return 0
    full = _word(" ".join(words))
    n = len(full.findall(text))
    rest = full.sub("\x00", text)
    if len(words) > 1:
        n += sum(len(_word(w).findall(rest)) for w in words)
    return n


def _strings(frame: pd.DataFrame) -> pd.DataFrame:
    """Text or None in every cell, as the pipeline reads records (io.read_strings)."""
    return frame.astype("string").astype(object).where(frame.notna(), None)


def hospital_cases(records: int, seed: int, contract: Contract) -> list[NameCase]:
    frame = _strings(generate_encounters(records, seed=seed))
    frame = frame.sample(n=min(records, len(frame)), random_state=seed)
    return [
        NameCase("hospital note", row["note"], row["name"], _known_values(row, contract))
        for _, row in frame.iterrows()
    ]


def bank_cases(records: int, seed: int, contract: Contract) -> list[NameCase]:
    """Complaint narratives (up to `records`) and the memos that name the customer."""
    frame = _strings(generate_transactions(2 * records, seed=seed))
    cases: list[NameCase] = []
    for column, source in (("complaint_narrative", "bank complaint"), ("memo", "bank memo")):
        rows = frame[frame[column].notna()]
        names = rows["customer_name"]
        rows = rows[[count_name(t, n) > 0 for t, n in zip(rows[column], names, strict=True)]]
        for _, row in rows.head(records).iterrows():
            known = _known_values(row, contract)
            cases.append(NameCase(source, row[column], row["customer_name"], known))
    return cases


def _swap(word: str) -> str:
    """One typo: the second and third letters swapped (the third and fourth if they are equal)."""
    i = 1 if word[1].lower() != word[2].lower() else 2
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def misspell(case: NameCase) -> tuple[str, str]:
    """The case's text with every name word of four letters or more misspelt; the new name."""
    text, name = case.text, case.name
    for word in name_words(case.name):
        if len(word) >= 4 and word.isalpha():
            typo = _swap(word)
            text = _word(word).sub(typo, text)
            name = name.replace(word, typo)
    return text, name


def other_people(text: str) -> list[str]:
    return [m.group(1) for rx in _OTHER_PEOPLE for m in rx.finditer(text)]


@dataclass
class NameTally:
    occurrences: int = 0
    left: int = 0
    misses: list[str] = field(default_factory=list)

    def add(self, name: str, before: str, after: str) -> None:
        n = count_name(before, name)
        leaked = min(n, count_name(after, name))
        self.occurrences += n
        self.left += leaked
        if leaked and len(self.misses) < MISS_EXAMPLES:
            self.misses.append(repr(name))

    @property
    def recall(self) -> float:
        return 1 - self.left / self.occurrences if self.occurrences else float("nan")


def measure_names(cases: Sequence[NameCase]) -> dict[str, NameTally]:
    """Own-name recall after both passes and after Presidio alone; other people, both passes."""
    texts = [c.text for c in cases]
    scrubbed = [scrub_record_values(c.text, c.known)[0] for c in cases]
    progress(f"redacting {len(cases)} demo texts twice (record-aware + Presidio, Presidio only)")
    both, _ = redact.redact_texts(scrubbed)
    alone, _ = redact.redact_texts(texts)
    tallies: dict[str, NameTally] = defaultdict(NameTally)
    misspelt = [misspell(c) for c in cases]
    progress(f"redacting {len(cases)} demo texts with the name misspelt")
    after_typos, _ = redact.redact_texts(
        [scrub_record_values(t, c.known)[0] for c, (t, _) in zip(cases, misspelt, strict=True)]
    )
    for (text, name), after in zip(misspelt, after_typos, strict=True):
        tallies["record_aware_misspelt"].add(name, text, after)
    for case, after_both, after_alone in zip(cases, both, alone, strict=True):
        for key in ("record_aware", f"record_aware:{case.source}"):
            tallies[key].add(case.name, case.text, after_both)
        for key in ("presidio_only", f"presidio_only:{case.source}"):
            tallies[key].add(case.name, case.text, after_alone)
        for other in other_people(case.text):
            tallies["other_people"].add(other, case.text, after_both)
    return dict(tallies)


# --- corpora the project did not write, and clinical content -------------------------------------


def stock_presidio() -> Any:
    """Presidio as shipped: its predefined recognizers only, on the pipeline's spaCy model."""
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    nlp_engine = NlpEngineProvider(
        nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": "en", "model_name": setup.DEFAULT_SPACY_MODEL}],
        }
    ).create_engine()
    registry = RecognizerRegistry()
    registry.load_predefined_recognizers(nlp_engine=nlp_engine)
    return AnalyzerEngine(nlp_engine=nlp_engine, registry=registry, supported_languages=["en"])


def found_by_strongroom(texts: Sequence[str]) -> list[list[tuple[str, int, int]]]:
    return [[(e, s, t) for e, s, t, _ in f] for f in redact.detect(list(texts))]


def found_by_engine_alone(texts: Sequence[str]) -> list[list[tuple[str, int, int]]]:
    """The engine's findings before the clinical-content filter (the "before" of that filter)."""
    found = find_entities(list(texts), score_threshold=redact.SCORE_THRESHOLD)
    return [[(e, s, t) for e, s, t, _ in f] for f in found]


def found_by_stock(texts: Sequence[str], engine: Any) -> list[list[tuple[str, int, int]]]:
    """Stock ``analyze`` at the pipeline's threshold (its default, 0, would also count findings
    scored 0.01-0.05 that nobody redacts)."""
    return [
        [
            (r.entity_type, r.start, r.end)
            for r in engine.analyze(t, language="en", score_threshold=redact.SCORE_THRESHOLD)
        ]
        for t in texts
    ]


def as_labelled(sentences: Sequence[Sentence]) -> list[Labelled]:
    return [Labelled(s.text, tuple((p.start, p.end, p.label) for p in s.spans)) for s in sentences]


def corpus_pairs(prefix: str, ours: Coverage, stock: Coverage) -> dict[str, str]:
    out = {}
    for who, score in (("", ours), ("stock_", stock)):
        pooled = [t for t in PATTERNED if score.labelled.get(t)]
        out[f"{prefix}_{who}recall_patterned"] = _fmt(score.recall(pooled))
        for label in ("PERSON", "STREET_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "ZIP_CODE"):
            if score.labelled.get(label):
                out[f"{prefix}_{who}recall_{label}"] = _fmt(score.recall([label]))
                out[f"{prefix}_{who}partial_{label}"] = _fmt(score.partial([label]))
        out[f"{prefix}_{who}over_redaction"] = _fmt(score.over_redaction)
    return out


# --- report ---------------------------------------------------------------------------------------


def _fmt(x: float) -> str:
    return "nan" if x != x else f"{x:.3f}"


def _ratio(a: int, b: int) -> float:
    return a / b if b else float("nan")


def table(scores: dict[str, TypeScore]) -> tuple[list[str], list[str]]:
    """Table lines and the names of the targets missed."""
    header = f"{'type':<32}{'labelled':>9}{'recall':>8}{'typed':>8}{'found':>7}{'precision':>10}"
    lines = [f"{header}  {'target':<7}status"]
    failed = []
    labelled = sorted(t for t, s in scores.items() if s.labelled)
    detected_only = sorted(t for t, s in scores.items() if not s.labelled)
    for t in labelled + detected_only:
        s = scores[t]
        recall = _ratio(s.found, s.labelled)
        target = TARGETS.get(t)
        status = "-" if target is None else ("met" if recall >= target else "NOT MET")
        if status == "NOT MET":
            failed.append(f"recall_{t}={_fmt(recall)} < {target}")
        lines.append(
            f"{t:<32}{s.labelled:>9}{_fmt(recall):>8}{_fmt(_ratio(s.typed, s.labelled)):>8}"
            f"{s.detections:>7}{_fmt(_ratio(s.correct, s.detections)):>10}  "
            f"{'' if target is None else f'>={target}':<7}{status}"
        )
    return lines, failed


def breakdown_lines(shapes: dict[tuple[str, str], TypeScore]) -> list[str]:
    lines = ["by shape of the value:"]
    for (label, shape), s in sorted(shapes.items()):
        recall, typed = _fmt(_ratio(s.found, s.labelled)), _fmt(_ratio(s.typed, s.labelled))
        lines.append(f"  {label:<13}{shape:<34}{s.labelled:>5}  recall {recall}  typed {typed}")
    return lines


def examples(scores: dict[str, TypeScore], tallies: dict[str, NameTally]) -> list[str]:
    lines = ["misses (labelled span only; 'partly' = what was found inside it):"]
    for t, s in sorted(scores.items()):
        lines += [f"  {t}: {m}" for m in s.misses]
    for key in ("record_aware", "record_aware_misspelt", "presidio_only", "other_people"):
        if key in tallies:
            lines += [f"  demo names, {key}: {m}" for m in tallies[key].misses]
    lines.append("false positives (finding overlaps no labelled span):")
    for t, s in sorted(scores.items()):
        if s.false_positives:
            lines.append(f"  {t}: {', '.join(s.false_positives)}")
    return lines


def name_lines(tallies: dict[str, NameTally]) -> tuple[list[str], list[str]]:
    lines, failed = [], []
    for key, tally in sorted(tallies.items()):
        counts = f"occurrences {tally.occurrences:>5}  left {tally.left:>4}"
        lines.append(f"demo names {key:<36} {counts}  recall {_fmt(tally.recall)}")
    overall = tallies.get("record_aware", NameTally()).recall
    status = "met" if overall >= DEMO_NAME_TARGET else "NOT MET"
    target = f"target >={DEMO_NAME_TARGET} {status}"
    lines.append(f"demo names, record-aware: recall {_fmt(overall)} {target}")
    if status != "met":
        failed.append(f"recall_PERSON_demo_record_aware={_fmt(overall)} < {DEMO_NAME_TARGET}")
    return lines, failed


def pairs(
    scores: dict[str, TypeScore],
    shapes: dict[tuple[str, str], TypeScore],
    tallies: dict[str, NameTally],
    n: int,
    extra: dict[str, str],
) -> str:
    out = {"sentences": str(n)}
    for t, s in sorted(scores.items()):
        if s.labelled:
            suffix = "_generic" if t == "PERSON" else ""
            out[f"recall_{t}{suffix}"] = _fmt(_ratio(s.found, s.labelled))
            out[f"typed_recall_{t}{suffix}"] = _fmt(_ratio(s.typed, s.labelled))
    for key in ("record_aware", "record_aware_misspelt", "presidio_only", "other_people"):
        out[f"recall_PERSON_demo_{key}"] = _fmt(tallies.get(key, NameTally()).recall)
    valid = [s for (t, shape), s in shapes.items() if t == "PHONE_NUMBER" and " valid" in shape]
    n_valid = sum(s.labelled for s in valid)
    out["recall_PHONE_NUMBER_valid_numbers"] = _fmt(_ratio(sum(s.found for s in valid), n_valid))
    out["name_occurrences_demo"] = str(tallies.get("record_aware", NameTally()).occurrences)
    for t, s in sorted(scores.items()):
        if s.detections:
            out[f"precision_{t}"] = _fmt(_ratio(s.correct, s.detections))
    out.update(extra)
    return " ".join(f"{k}={v}" for k, v in out.items())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=1000, help="generic labelled sentences")
    parser.add_argument("--records", type=int, default=500, help="demo records per source")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--independent", type=int, default=3000, help="presidio-evaluator sentences (0: skip)"
    )
    parser.add_argument("--clinical", type=int, default=300, help="clinical-content notes")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    progress("loading Presidio and the spaCy model")
    setup.analyzer_engine()
    sentences = generate_sentences(args.sentences, args.seed)
    progress(f"analysing {len(sentences)} labelled sentences")
    found = analyze([s.text for s in sentences])
    scores, shapes = score(sentences, found), breakdown(sentences, found)
    progress("generating demo records")
    cases = hospital_cases(args.records, args.seed, load_contract("hospital_encounters"))
    cases += bank_cases(args.records, args.seed, load_contract("bank_transactions"))
    tallies = measure_names(cases)
    stock = stock_presidio()
    extra: dict[str, str] = {}
    corpus_lines: list[str] = []
    own = as_labelled(sentences)
    progress(f"stock Presidio on the {len(own)} generated sentences")
    own_stock = coverage(own, found_by_stock([s.text for s in own], stock))
    own_ours = coverage(own, [[(f.entity, f.start, f.end) for f in fs] for fs in found])
    corpus_lines += side_by_side(
        "generated sentences (ours, above), beside stock Presidio:", own_ours, own_stock
    )
    extra |= corpus_pairs("own", own_ours, own_stock)
    if args.independent:
        progress(f"presidio-evaluator: {args.independent} sentences, strongroom and stock")
        indep = independent_sentences(args.independent, args.seed)
        texts = [s.text for s in indep]
        ours, theirs = (
            coverage(indep, found_by_strongroom(texts)),
            coverage(indep, found_by_stock(texts, stock)),
        )
        title = f"independent corpus: presidio-evaluator 0.3.2 generator, {len(indep)} sentences, seed {args.seed}"
        corpus_lines += side_by_side(title, ours, theirs)
        corpus_lines += [
            f"  misses {t}: {m!r}" for t, ms in sorted(ours.misses.items()) for m in ms[:3]
        ]
        extra |= corpus_pairs("indep", ours, theirs)
    if args.clinical:
        progress(f"{args.clinical} clinical-content notes, before and after the clinical filter")
        clinical = clinical_sentences(args.clinical, args.seed)
        texts = [s.text for s in clinical]
        after = coverage(clinical, found_by_strongroom(texts))
        before = coverage(clinical, found_by_engine_alone(texts))
        title = "clinical content: precision per type after (left) and before the clinical filter"
        corpus_lines += side_by_side(title, after, before, other="before")
        for entity in sorted(before.detections):
            extra[f"clinical_precision_{entity}"] = _fmt(after.precision(entity))
            extra[f"clinical_precision_before_{entity}"] = _fmt(before.precision(entity))

    rows, failed = table(scores)
    domains = Counter(s.domain for s in sentences)
    mix = f"{domains['clinical']} clinical, {domains['banking']} banking"
    print(f"generic sentences: {len(sentences)} ({mix}), seed {args.seed}, ", end="")
    print(f"threshold {redact.SCORE_THRESHOLD}")
    print("\n".join(rows))
    print("\n".join(breakdown_lines(shapes)))
    demo, demo_failed = name_lines(tallies)
    print("\n".join(demo))
    print("\n".join(examples(scores, tallies)))
    print("\n".join(corpus_lines))
    failed += demo_failed
    progress(f"done in {time.perf_counter() - start:.0f} s")
    print("targets missed: " + "; ".join(failed) if failed else "all targets met")
    print(pairs(scores, shapes, tallies, len(sentences), extra))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
