"""Clinical codes, doses, lab values and headers stay in the text; identifiers next to them go."""

from __future__ import annotations

import pytest

from strongroom.deid.clinical import drop_clinical_content, is_clinical_token
from strongroom.deid.redact import redact_texts


@pytest.mark.parametrize(
    "token",
    ["I10", "M54.50", "E11.9", "S72.001A", "J45.909", "4548-4", "1111F", "10 mg", "500mg",
     "7.2%", "1.2 mg/dL", "Cr 1.2", "K 4.1", "HbA1c 7.2%", "DOB", "Dx", "Rx", "PMH", "CHF"],
)  # fmt: skip
def test_clinical_tokens_are_recognised(token: str) -> None:
    assert is_clinical_token(token)


@pytest.mark.parametrize(
    "token", ["John", "Ed", "A1234567", "12 Main St", "Smith 12", "U07.1x", "D12345678"]
)
def test_identifiers_are_not_clinical_tokens(token: str) -> None:
    assert not is_clinical_token(token)


def test_a_cpt_code_counts_only_after_its_keyword() -> None:
    assert is_clinical_token("99213", "billed CPT ")
    assert not is_clinical_token("99213", "lives in ")  # a ZIP code shape


def test_a_date_finding_is_dropped_only_for_a_header_or_a_cpt_code() -> None:
    assert not is_clinical_token("4548-4", date_finding=True)  # could be a date
    assert is_clinical_token("DOB", date_finding=True)


def test_only_generic_types_are_dropped() -> None:
    text = "Dx I10 for MRN 12345678"
    findings = [("US_DRIVER_LICENSE", 3, 6, 0.3), ("MEDICAL_RECORD_NUMBER", 3, 6, 0.9)]
    assert drop_clinical_content(text, findings) == [("MEDICAL_RECORD_NUMBER", 3, 6, 0.9)]


def test_clinical_content_survives_redaction_and_identifiers_do_not() -> None:
    note = (
        "Dx I10, M54.50 low back pain. Rx lisinopril 10 mg PO daily. CPT 99213. PMH: HTN, CHF, "
        "COPD. Cr 1.2 mg/dL. Seen by Dr. John Carter, call 212-555-0142."
    )
    (redacted,), _ = redact_texts([note])
    for kept in ("Dx I10", "M54.50", "Rx", "10 mg", "CPT 99213", "PMH", "CHF", "Cr 1.2"):
        assert kept in redacted, kept
    for gone in ("John", "Carter", "212-555-0142"):
        assert gone not in redacted, gone
