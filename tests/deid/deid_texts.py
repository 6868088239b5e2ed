"""Texts for comparing strongroom's batched analysis with Presidio's and spaCy's own.

Demo notes and bank narratives, plus edge cases chosen for the code paths they exercise: empty
and whitespace-only text, entities at the very start and end, a colon inside a word, words whose
lemma depends on the part of speech right before a pattern finding ("seen", "does", "Lives").
"""

from __future__ import annotations

from functools import lru_cache

from strongroom.demo.bank import generate_transactions
from strongroom.demo.hospital import generate_encounters

EDGE_TEXTS = [
    "",
    " ",
    "\n\n\t ",
    "Paris",
    "John Smith",
    "Call 555-123-4567",
    "Dr. John Smith\n\nmet Mary  Jones in New York on May 5th 2021.",
    "Pt seen 2023-04-05 and does well; Lives in Boston. Call back: (617) 555-0199.",
    "tel:+1-212-555-0100 or mailto:ann.lee@example.org, MRN: 00123456, seen 03/04/2022",
    "The patient, who was seen by Dr. Patel, does not reach her daughter at 07700 900123.",
    "IBAN DE89 3704 0044 0532 0130 00 transfer seen 12/2026; card 4111 1111 1111 1111 exp 04/27",
    "Member ID W123456789, Medicare MBI 1EG4-TE5-MK73, NPI 1234567893, ZIP 02139.",
    "Ages: 91 year old male, SSN 123-45-6789, acct no. 000123456789, https://example.org/x?y=1",
    "Mr. O'Neil-Smith (DOB 1931-02-03) moved to 12 Elm St. Apt 4, Springfield, IL 62704.",
]


@lru_cache(maxsize=1)
def comparison_texts() -> tuple[str, ...]:
    notes = list(generate_encounters(60, seed=3)["note"])[:150]
    bank = generate_transactions(60, seed=4)
    narratives = [t for c in bank.columns for t in bank[c] if isinstance(t, str) and len(t) > 30]
    return tuple(EDGE_TEXTS + notes + narratives[:120])
