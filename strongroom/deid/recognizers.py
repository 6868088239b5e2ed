"""Presidio recognizers for identifiers the built-in set misses in clinical notes and bank text.

HIPAA Safe Harbor and PCI DSS both name identifiers that Presidio's default recognizers do not
find: medical record and health-plan numbers, account numbers, ZIP codes, street addresses, ages
over 89, and card expiry dates and security codes. Each entity gets one ``PatternRecognizer``
subclass with a ``CONTEXT`` list, so Presidio's ``LemmaContextAwareEnhancer`` adds 0.35 to a match
that has one of those words among the five content words before it.

Scores follow one rule. A pattern that carries its own keyword ("MRN 1234567", "CVV 123") scores
0.85-0.9 and stands alone; a street address (its suffix is the keyword) 0.7. A bare format
("12345678", "62704") scores 0.2, under the 0.3 redaction threshold in ``redact.py``, and only counts
once a context word lifts it to 0.55. Distinctive bare shapes (an MBI, a HICN, a ZIP+4) score
0.35-0.4, so they are redacted even without context.

Matches exclude the keyword where the regex allows it (variable-width lookbehind, which the
``regex`` module used by Presidio supports): "MRN 1234567" becomes "MRN <MEDICAL_RECORD_NUMBER>",
which keeps the note readable for training. Such a pattern starts with a look-ahead for its
first character ("(?=[0-9])(?<=MRN...)"): the regex engine tries the long look-behind only where
a match could begin, which makes these patterns several times faster. Digits are written ``[0-9]``, not ``\\d``, because
``\\d`` also matches non-ASCII digits (see ``formats.py``).
"""

from __future__ import annotations

import re
from typing import ClassVar

from presidio_analyzer import EntityRecognizer, Pattern, PatternRecognizer

from strongroom.records.formats import iban_valid, luhn_valid, npi_valid

ENTITIES: dict[str, str] = {
    "MEDICAL_RECORD_NUMBER": "Hospital medical record number (MRN), 6-10 digits",
    "HEALTH_PLAN_BENEFICIARY_NUMBER": "Medicare MBI, legacy HICN, or insurance member/policy ID",
    "ACCOUNT_NUMBER": "Bank account number (8-17 digits) or its last four digits",
    "NPI": "US National Provider Identifier, 10 digits with a Luhn check (80840 prefix)",
    "US_ZIP_CODE": "US ZIP code, 5 digits or ZIP+4",
    "STREET_ADDRESS": "US or UK street address: house number, street name and suffix, unit",
    "AGE_OVER_89": "An age of 90 to 125 (Safe Harbor allows only the category '90 or older')",
    "CARD_EXPIRY": "Payment card expiry date (MM/YY or MM/YYYY) after an 'exp'/'valid thru' word",
    "CARD_CVV": "Payment card security code (CVV/CVC), 3-4 digits after its keyword",
    # Presidio's own types, with patterns it lacks (see the recognizers' docstrings)
    "CREDIT_CARD": "Payment card number, 13-19 digits starting 2-6, Luhn-checked",
    "IBAN_CODE": "IBAN, compact or in groups of four, mod-97 checked",
    "PHONE_NUMBER": "US / UK phone number shapes, assigned or not, with extensions",
    "US_SSN": "US social security number written with dashes (Presidio scores it too low)",
}

# Presidio's default flags. Recognizers that need case (capitalised street names, state codes)
# drop IGNORECASE and opt back in per group with (?i:...).
_FLAGS = re.DOTALL | re.MULTILINE | re.IGNORECASE
_CASED_FLAGS = re.DOTALL | re.MULTILINE

_NUM_SUFFIX = r"(?:\s*(?:number|num|no\.?|\#))?\s*(?:[:#=-]|is)?\s*"  # "number: ", "no. ", "# "
# Bare digit patterns are bounded by (?<!\w)/(?!\w), not [0-9], so the digit tail of an IBAN or
# of a code such as "XK123456789" is not taken for an account or record number.


class _Recognizer(PatternRecognizer):
    """A pattern recognizer declared by class attributes; builds fresh ``Pattern``s per instance.

    Presidio caches the compiled regex on each ``Pattern``, so instances must not share them.
    """

    ENTITY: ClassVar[str]
    PATTERNS: ClassVar[tuple[tuple[str, str, float], ...]]  # (name, regex, base score)
    # Single lowercase words: the enhancer compares them with one lemma at a time, as substrings.
    CONTEXT: ClassVar[tuple[str, ...]]
    FLAGS: ClassVar[int] = _FLAGS

    def __init__(self) -> None:
        super().__init__(
            supported_entity=self.ENTITY,
            name=f"sr_{self.ENTITY.lower()}",
            supported_language="en",
            patterns=[Pattern(name, rx, score) for name, rx, score in self.PATTERNS],
            context=list(self.CONTEXT),
            global_regex_flags=self.FLAGS,
        )


class MedicalRecordNumberRecognizer(_Recognizer):
    ENTITY = "MEDICAL_RECORD_NUMBER"
    _KEY = r"\b(?:MRN|MR\s?\#|med(?:ical)?\.?\s+rec(?:ord)?\.?|hospital\s+(?:number|no\.?))"
    PATTERNS = (
        ("mrn_keyword", rf"(?=[0-9])(?<={_KEY}{_NUM_SUFFIX})[0-9]{{6,10}}\b", 0.85),
        # Any 6-10 digit word: counts only next to "MRN"/"record"/"chart" (0.2 + 0.35).
        ("mrn_bare", r"(?<!\w)[0-9]{6,10}(?!\w)", 0.2),
    )
    CONTEXT = ("mrn", "record", "chart")


# CMS MBI alphabet: A-Z without S, L, O, I, B, Z (they read like digits).
_MBI_A = "[AC-HJKMNP-RT-Y]"
_MBI_AN = "[0-9AC-HJKMNP-RT-Y]"


class HealthPlanBeneficiaryNumberRecognizer(_Recognizer):
    ENTITY = "HEALTH_PLAN_BENEFICIARY_NUMBER"
    # Insurer-issued IDs have no fixed shape, so they are only taken right after an ID keyword.
    # "Plan" and "member" alone are common words ("plan to discharge"), hence the ID noun.
    _KEY = (
        r"\b(?:(?:MBI|HICN?|medicare|medicaid)(?:\s+(?:id|number|no\.?|\#))?"
        r"|(?:member|subscriber|policy|insurance|plan|beneficiary|group)\s*(?:id|number|no\.?|\#))"
        r"\s*(?:[:#=-]|is)?\s*"
    )
    PATTERNS = (
        (
            "mbi",
            rf"\b[1-9]{_MBI_A}{_MBI_AN}[0-9]-?{_MBI_A}{_MBI_AN}[0-9]-?{_MBI_A}{{2}}[0-9]{{2}}\b",
            0.4,
        ),
        # Legacy HICN: the beneficiary's SSN plus an upper-case suffix (A, B1, C2, HA, ...).
        # Case-sensitive, or "250000000mg" would match.
        ("hicn", r"\b(?-i:[0-9]{3}-?[0-9]{2}-?[0-9]{4}[A-Z][A-Z0-9]?)\b", 0.4),
        ("member_id", rf"(?=[A-Z0-9-]*[0-9])(?<={_KEY})[A-Z0-9][A-Z0-9-]{{4,18}}[A-Z0-9]\b", 0.85),
    )
    CONTEXT = ("medicare", "medicaid", "mbi", "hicn", "member", "policy", "insurance", "insurer",
               "beneficiary", "subscriber", "plan")  # fmt: skip


class AccountNumberRecognizer(_Recognizer):
    ENTITY = "ACCOUNT_NUMBER"
    _ACCT = r"\b(?:account|acct|acc|a/c)\.?"
    PATTERNS = (
        ("account_keyword", rf"(?=[0-9])(?<={_ACCT}{_NUM_SUFFIX})[0-9]{{8,17}}\b", 0.85),
        # "account ending in 1234", "card ending 1234": a last-four mention.
        (
            "account_ending",
            rf"(?=[0-9])(?<=(?:{_ACCT}|\bcard)(?:\s+(?:number|no\.?))?\s*,?\s*"
            r"(?:ending|ends)(?:\s+(?:in|with))?\s*[:#]?\s*)[0-9]{4}\b",
            0.85,
        ),
        # Masked: "acct ***1234", "account no. XXXX-1234".
        (
            "account_masked",
            rf"(?=[*xX•])(?<={_ACCT}{_NUM_SUFFIX})[*xX•]{{2,13}}[ -]?[0-9]{{4}}\b",
            0.85,
        ),
        # Any 8-17 digit run: an account only near a context word (0.2 + 0.35 = 0.55).
        ("account_bare", r"(?<!\w)[0-9]{8,17}(?!\w)", 0.2),
    )
    # "a/c" is split by spaCy into a, /, c and can never match as context: it is in the pattern.
    CONTEXT = ("account", "acct", "ref", "checking", "savings", "deposit", "wire")


class NpiRecognizer(_Recognizer):
    ENTITY = "NPI"
    PATTERNS = (
        ("npi_keyword", r"(?=[0-9])(?<=\bNPI" + _NUM_SUFFIX + r")[0-9]{10}\b", 0.9),
        ("npi_bare", r"(?<!\w)[0-9]{10}(?!\w)", 0.2),
    )
    CONTEXT = ("npi", "provider", "prescriber")

    def validate_result(self, pattern_text: str) -> bool | None:
        # Presidio sets a passing result to score 1.0 whatever the pattern said, and one random
        # 10-digit number in ten (a phone number, say) passes the check. So the checksum only
        # vetoes (False drops the match); a pass keeps the pattern's own, context-driven score.
        return None if npi_valid(pattern_text) else False


# USPS state and territory codes; case-sensitive, so "in 46201" is not Indiana. "ID" is far more
# often "identifier" than Idaho, so it only counts before an Idaho ZIP (832xx-838xx).
_STATES = (
    r"ID(?=\.?,?\s+83[2-8])|"
    "AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|"
    "NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|PR|GU|VI|AS|MP"
)
_ZIP = r"[0-9]{5}(?:-[0-9]{4})?(?![0-9-])"


class UsZipCodeRecognizer(_Recognizer):
    ENTITY = "US_ZIP_CODE"
    PATTERNS = (
        (
            "zip_keyword",
            rf"(?=[0-9])(?<=\b(?:zip|postal|post\s*code)(?:\s*code)?\s*[:#]?\s*){_ZIP}",
            0.85,
        ),
        ("zip_after_state", rf"(?=[0-9])(?<=\b(?-i:{_STATES})\.?,?\s+){_ZIP}", 0.85),
        ("zip_plus4", r"(?<![\w-])[0-9]{5}-[0-9]{4}(?![\w-])", 0.35),
        ("zip_bare", r"(?<![\w-])[0-9]{5}(?![\w-])", 0.2),
    )
    CONTEXT = ("zip", "postal", "postcode", "address")


_STREET_SUFFIXES = (
    "Street", "St", "Avenue", "Ave", "Road", "Rd", "Lane", "Ln", "Drive", "Dr", "Court", "Ct",
    "Boulevard", "Blvd", "Way", "Place", "Pl", "Terrace", "Close", "Crescent", "Grove", "Gardens",
    "Mews", "Row", "Square", "Hill", "Parkway", "Pkwy", "Circle", "Cir", "Highway", "Hwy",
    # USPS Publication 28 suffixes (full words; plurals are listed where USPS lists them)
    "Alley", "Bend", "Bluff", "Bluffs", "Bottom", "Branch", "Bridge", "Brook", "Brooks", "Burg",
    "Bypass", "Camp", "Canyon", "Cape", "Causeway", "Center", "Centers", "Cliff", "Cliffs", "Club",
    "Common", "Commons", "Corner", "Corners", "Course", "Courts", "Cove", "Coves", "Creek",
    "Crossing", "Crossroad", "Curve", "Dale", "Dam", "Divide", "Drives", "Estate", "Estates",
    "Expressway", "Extension", "Falls", "Ferry", "Field", "Fields", "Flat", "Flats", "Ford",
    "Forest", "Forge", "Forges", "Fork", "Forks", "Fort", "Freeway", "Garden", "Gateway", "Glen",
    "Glens", "Green", "Greens", "Harbor", "Harbors", "Haven", "Heights", "Hills", "Hollow", "Inlet",
    "Island", "Islands", "Isle", "Junction", "Junctions", "Key", "Keys", "Knoll", "Knolls", "Lake",
    "Lakes", "Landing", "Light", "Lights", "Loaf", "Lock", "Locks", "Lodge", "Loop", "Mall",
    "Manor", "Manors", "Meadow", "Meadows", "Mill", "Mills", "Mission", "Motorway", "Mount",
    "Mountain", "Mountains", "Neck", "Orchard", "Oval", "Overpass", "Park", "Parks", "Pass",
    "Passage", "Path", "Pike", "Pine", "Pines", "Plain", "Plains", "Plaza", "Point", "Points",
    "Port", "Ports", "Prairie", "Radial", "Ramp", "Ranch", "Rapid", "Rapids", "Rest", "Ridge",
    "Ridges", "River", "Roads", "Route", "Shoal", "Shoals", "Shore", "Shores", "Skyway", "Spring",
    "Springs", "Spur", "Spurs", "Squares", "Station", "Stream", "Streets", "Summit", "Terr",
    "Trace", "Track", "Trafficway", "Trail", "Trailer", "Tunnel", "Turnpike", "Underpass", "Union",
    "Unions", "Valley", "Valleys", "Viaduct", "View", "Views", "Village", "Villages", "Ville",
    "Vista", "Walk", "Walks", "Wall", "Ways", "Well", "Wells",
)  # fmt: skip
# Title case or upper case ("12 MAIN ST" in bank data), never lower case ("2 blocks down the road").
_SUFFIX = "|".join(
    sorted({v for w in _STREET_SUFFIXES for v in (w, w.upper())}, key=lambda s: (-len(s), s))
)
_UNIT = r"(?i:apt|apartment|suite|ste|unit|flat|studio|room)\.?\s*\#?\s*[0-9]+[A-Z]?"


class StreetAddressRecognizer(_Recognizer):
    ENTITY = "STREET_ADDRESS"
    FLAGS = _CASED_FLAGS  # capitalisation is what separates a street name from prose
    PATTERNS = (
        (
            "street_address",
            r"(?=[0-9]|(?i:ap|fl|ro|st|su|un))"  # a house number or a unit word: a quick test
            rf"(?:\b{_UNIT},?\s+)?"  # "Flat 3, 12 Baker Street"
            r"\b[0-9]{1,5}[A-Z]?\s+"  # house number, "221B"
            r"(?:(?:[A-Z][A-Za-z'’.-]*|[0-9]+(?:st|nd|rd|th))\s+){1,4}"  # "North Oak", "5th"
            rf"(?:{_SUFFIX})\b\.?"
            r"(?:\s+(?:N|S|E|W|NE|NW|SE|SW)\b)?"  # "Avenue NW"
            rf"(?:,?\s+{_UNIT}\b)?",  # ", Apt 4" / " Suite 200"
            0.7,
        ),
    )
    CONTEXT = ("address", "live", "reside", "home", "street", "addr")


# 90-125 as a whole number: not 89, 1092, 90.5, 1,095 or the 90 of "90/60".
_AGE = r"(?<![0-9/]|[0-9][.,])(?:12[0-5]|1[01][0-9]|9[0-9])(?![0-9/]|[.,][0-9])"
_DURATION = r"(?:days?|d\b|weeks?|wks?|months?|mos?|hours?|hrs?|minutes?|mins?)"


class AgeOver89Recognizer(_Recognizer):
    ENTITY = "AGE_OVER_89"
    # Only the number is matched ("a <AGE_OVER_89>-year-old man"); the unit or keyword is what
    # makes it an age, so "BP 90/60", "90 mg" and "room 95" have none to match.
    PATTERNS = (
        ("age_year_old", rf"{_AGE}(?=\s*-?\s*(?:years?|yrs?|y)\s*-?\s*old\b)", 0.9),
        ("age_yo", rf"{_AGE}(?=\s*-?\s*(?:y/o|y\.o\.?|yo)\b)", 0.9),
        ("age_years_of_age", rf"{_AGE}(?=\s*(?:years?|yrs?)\s+of\s+age\b)", 0.9),
        # "age 90 days" is a duration (post-op day, infant age), not a person's age.
        (
            "age_keyword",
            rf"(?=[0-9])(?<=\bage[ds]?\s*(?:[:=]|of)?\s*){_AGE}(?!\s*{_DURATION})",
            0.9,
        ),
    )
    CONTEXT = ("age", "old", "year")


class CardExpiryRecognizer(_Recognizer):
    ENTITY = "CARD_EXPIRY"
    _KEY = (
        r"\b(?:exp(?:iry|iration|ires|ired|\.)?(?:\s+date)?|valid\s+(?:thru|through|until|till)"
        r"|good\s+thru)\s*[:-]?\s*(?:on\s+)?"
    )
    PATTERNS = (
        (
            "expiry",
            rf"(?=[0-9])(?<={_KEY})(?:0?[1-9]|1[0-2])\s*[/-]\s*(?:20[0-9]{{2}}|[0-9]{{2}})(?![0-9/-])",
            0.9,
        ),
    )
    CONTEXT = ("exp", "expiry", "expire", "valid", "card")


class CardCvvRecognizer(_Recognizer):
    ENTITY = "CARD_CVV"
    _KEY = (
        r"\b(?:CVV2?|CVC2?|CVN|CSC|CID|security\s+code"
        r"|card\s+verification(?:\s+(?:value|code|number))?)"
        r"(?:\s*(?:code|number|no\.?))?\s*(?:[:#=-]|is)?\s*"
    )
    PATTERNS = (("cvv", rf"(?=[0-9])(?<={_KEY})[0-9]{{3,4}}(?![0-9])", 0.9),)
    CONTEXT = ("cvv", "cvc", "security", "verification", "card")


class CardNumberRecognizer(_Recognizer):
    """Payment card numbers Presidio's CREDIT_CARD misses: Mastercard's 2-series (2221-2720)
    and 18-19 digit cards; any 13-19 digit run starting 2-6, grouped or not, with a Luhn check."""

    ENTITY = "CREDIT_CARD"
    PATTERNS = (("pan", r"(?<![0-9])[2-6][0-9]{3}(?:[ -]?[0-9]){9,15}(?![0-9])", 0.4),)
    CONTEXT = ("card", "visa", "mastercard", "amex", "debit", "credit", "pan")

    def validate_result(self, pattern_text: str) -> bool | None:
        digits = re.sub(r"[ -]", "", pattern_text)
        return luhn_valid(digits) if 13 <= len(digits) <= 19 else False


class IbanGroupedRecognizer(_Recognizer):
    """IBANs, compact or grouped by four. Case-sensitive on purpose: Presidio's own IBAN pattern
    runs case-insensitively into the next word ("... 8193 today"), fails the checksum and is
    dropped, which loses every IBAN whose length is a multiple of four (ES, AT, PL, SE, ...)."""

    ENTITY = "IBAN_CODE"
    FLAGS = _CASED_FLAGS
    PATTERNS = (
        ("iban_compact", r"\b[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}\b", 0.5),
        ("iban_grouped", r"\b[A-Z]{2}[0-9]{2}(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,3})?\b", 0.5),
    )
    CONTEXT = ("iban", "account", "transfer", "bank")

    def validate_result(self, pattern_text: str) -> bool | None:
        return iban_valid(pattern_text.replace(" ", ""))


class PhoneNumberRecognizer(_Recognizer):
    """US and UK phone shapes, whether or not libphonenumber knows the number is assigned
    (Presidio's PhoneRecognizer keeps only valid numbers; a made-up or mistyped one is still a
    phone number to redact): extensions, (555)123-4567, +1 / 001 prefixes, +44 (0) 7700 900123."""

    ENTITY = "PHONE_NUMBER"
    _EXT = r"(?:\s*(?:x|ext\.?|extension)\s*[0-9]{1,6})?"
    PATTERNS = (
        (
            "us",
            r"(?=[+(0-9])(?<![\w+])(?:\+?1[ .-]?|001[ .-]?)?\(?[0-9]{3}\)?[ .-]?[0-9]{3}[ .-][0-9]{4}"
            + _EXT
            + r"(?![0-9])",
            0.6,
        ),
        (
            "uk",
            r"(?=[+0])(?<![\w+])(?:\+44\s?(?:\(0\)\s?)?|0)[1-9](?:[ -]?[0-9]){8,9}(?![0-9])",
            0.6,
        ),
    )
    CONTEXT = (
        "phone",
        "call",
        "tel",
        "mobile",
        "cell",
        "contact",
        "reach",
    )  # lemmas: "reached" is "reach"


class DashedSsnRecognizer(_Recognizer):
    """SSNs with dashes at 0.85: Presidio's own scores them too low to catch in notes and memos."""

    ENTITY = "US_SSN"
    PATTERNS = (("us_ssn_0", r"\b\d{3}-\d{2}-\d{4}\b", 0.85),)
    CONTEXT = ()


_RECOGNIZERS: tuple[type[_Recognizer], ...] = (
    MedicalRecordNumberRecognizer,
    HealthPlanBeneficiaryNumberRecognizer,
    AccountNumberRecognizer,
    NpiRecognizer,
    UsZipCodeRecognizer,
    StreetAddressRecognizer,
    AgeOver89Recognizer,
    CardExpiryRecognizer,
    CardCvvRecognizer,
    CardNumberRecognizer,
    IbanGroupedRecognizer,
    PhoneNumberRecognizer,
    DashedSsnRecognizer,
)


def custom_recognizers() -> list[EntityRecognizer]:
    """New instances of strongroom's recognizers, one per entity in ``ENTITIES``.

    Add them to an ``AnalyzerEngine``'s registry (``registry.add_recognizer``) next to the
    predefined ones; each call builds fresh objects, so engines never share regex state.
    """
    return [cls() for cls in _RECOGNIZERS]
