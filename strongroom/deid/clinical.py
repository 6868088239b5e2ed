"""Clinical content that generic recognizers take for identifiers, kept in the text.

Presidio's generic recognizers and spaCy's NER know nothing of clinical notes: an ICD-10 code
("I10", "M54.50") has the shape of a US driver's licence, "DOB", "PMH" and "CHF" are tagged as
organisations, a CPT code as a date, "Cr 1.2" as a person. Redacting them protects no one and
removes what the model should learn. A finding is dropped here when its whole text is one of these
shapes and its type is a generic one (NER types, and pattern types the contract's data cannot hold
in clinical shapes); strongroom's own identifier types (MRN, phone, account ...) are never dropped,
and a finding that covers more than the clinical token (a name next to a code) stays whole.

Shapes: ICD-10-CM codes (a letter other than U, two characters, an optional dot and up to four
more), CPT codes after the word "CPT" and category II / III codes (four digits and F or T), LOINC
codes (digits, a dash, a check digit), drug doses and lab values (a number with a unit, or after a
common analyte abbreviation), and the abbreviations and section headers of clinical notes.
``tests/deid/test_clinical.py``; ``benchmarks/deid_recall.py`` measures precision per type before
and after on clinical sentences.
"""

from __future__ import annotations

import re

from strongroom.deid.engine import Finding

# Types that generic recognizers or NER produce and that clinical tokens trigger.
GENERIC_TYPES = frozenset(
    {
        "US_DRIVER_LICENSE", "US_PASSPORT", "US_BANK_NUMBER", "US_ITIN", "MEDICAL_LICENSE",
        "ORGANIZATION", "PERSON", "LOCATION", "NRP", "DATE_TIME",
    }
)  # fmt: skip

_HEADERS = (
    "DOB", "Dx", "DDx", "Rx", "Hx", "Sx", "Tx", "Fx", "PMH", "PSH", "FHx", "SHx", "HPI", "ROS", "CC",
    "A/P", "A&P", "Plan", "Assessment", "Impression", "Allergies", "Meds", "NKDA", "Vitals",
    "BP", "HR", "RR", "SpO2", "O2", "Temp", "PRN", "BID", "TID", "QID", "QD", "QHS", "PO", "IV",
    "IM", "SC", "SQ", "NPO", "CBC", "BMP", "CMP", "LFT", "LFTs", "ECG", "EKG", "MRI", "CT", "CXR",
    "ED", "ER", "ICU", "OR", "PACU", "SOB", "CHF", "COPD", "CKD", "ESRD", "DM", "DM2", "T2DM",
    "HTN", "HLD", "CAD", "MI", "NSTEMI", "STEMI", "CVA", "TIA", "DVT", "PE", "UTI", "URI", "GERD",
    "AFib", "Afib", "OSA", "BPH", "RA", "OA", "MRSA", "HIV", "HCV", "s/p", "c/o", "w/u", "f/u",
    "CPT", "ICD", "ICD-10", "LOINC", "NDC", "HCPCS", "SNOMED",
)  # fmt: skip
_ANALYTES = (
    "Na", "K", "Cl", "CO2", "HCO3", "BUN", "Cr", "Glu", "Ca", "Mg", "Phos", "Alb", "Hb", "Hgb",
    "Hct", "HbA1c", "A1c", "WBC", "Plt", "INR", "PT", "PTT", "ALT", "AST", "ALP", "TSH", "LDL",
    "HDL", "TG", "Trop", "BNP", "CRP", "ESR", "eGFR", "Lactate", "Ferritin",
)  # fmt: skip
_UNITS = (
    r"mg|mcg|µg|ug|g|kg|mL|ml|L|units?|IU|mEq|mmol|meq|%|mg/dL|g/dL|mmol/L|mEq/L|ng/mL|pg/mL|"
    r"U/L|K/uL|x10\^9/L|mmHg|bpm|mg/kg|puffs?|tabs?|caps?|drops?"
)
_NUMBER = r"[0-9]+(?:\.[0-9]+)?"
_CLINICAL = re.compile(
    "|".join(
        (
            r"[A-TV-Z][0-9][0-9AB](?:\.[0-9A-TV-Z]{1,4})?",  # ICD-10-CM
            r"[0-9]{4}[FT]",  # CPT category II / III
            r"[0-9]{3,5}-[0-9]",  # LOINC
            rf"{_NUMBER}\s?(?:{_UNITS})",  # a dose or a lab value with its unit
            rf"(?:{'|'.join(_ANALYTES)})\s?:?\s?{_NUMBER}(?:\s?(?:{_UNITS}))?",  # "Cr 1.2"
            "|".join(re.escape(h) for h in _HEADERS),
        )
    )
)
_HEADER = re.compile("|".join(re.escape(h) for h in _HEADERS))
_CPT = re.compile(r"\bCPT(?:\s*(?:code|#|:))?\s*$", re.IGNORECASE)  # what precedes a CPT code


def is_clinical_token(text: str, before: str = "", *, date_finding: bool = False) -> bool:
    """Whether `text` is wholly a clinical code, dose, lab value or header (`before`: the text
    just before it, which makes a bare five-digit number a CPT code after "CPT"). For a date
    finding only a header or a CPT code counts: "4548-4" or "12-3" may be a date, which Safe
    Harbor wants gone."""
    token = text.strip(" .,;:()")
    if re.fullmatch(r"[0-9]{5}", token) and _CPT.search(before):
        return True
    return bool((_HEADER if date_finding else _CLINICAL).fullmatch(token))


def drop_clinical_content(text: str, findings: list[Finding]) -> list[Finding]:
    """The findings less those of a generic type whose whole text is clinical content."""
    return [
        f
        for f in findings
        if f[0] not in GENERIC_TYPES
        or not is_clinical_token(
            text[f[1] : f[2]], text[max(0, f[1] - 12) : f[1]], date_finding=f[0] == "DATE_TIME"
        )
    ]
