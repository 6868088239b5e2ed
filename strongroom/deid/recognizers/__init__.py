"""Presidio recognizers (one per module here) for identifiers the built-in set misses in clinical notes and bank text.

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

from presidio_analyzer import EntityRecognizer

from strongroom.deid.recognizers.account_number import AccountNumberRecognizer
from strongroom.deid.recognizers.age_over_89 import AgeOver89Recognizer
from strongroom.deid.recognizers.base import DeclaredRecognizer
from strongroom.deid.recognizers.card_cvv import CardCvvRecognizer
from strongroom.deid.recognizers.card_expiry import CardExpiryRecognizer
from strongroom.deid.recognizers.card_number import CardNumberRecognizer
from strongroom.deid.recognizers.dashed_ssn import DashedSsnRecognizer
from strongroom.deid.recognizers.device_serial import DeviceSerialRecognizer
from strongroom.deid.recognizers.email_shape import EmailShapeRecognizer
from strongroom.deid.recognizers.health_plan import HealthPlanBeneficiaryNumberRecognizer
from strongroom.deid.recognizers.iban import IbanGroupedRecognizer
from strongroom.deid.recognizers.international_address import InternationalAddressRecognizer
from strongroom.deid.recognizers.medical_record_number import MedicalRecordNumberRecognizer
from strongroom.deid.recognizers.name_lexicon import NameLexiconRecognizer
from strongroom.deid.recognizers.npi import NpiRecognizer
from strongroom.deid.recognizers.phone_context import ContextPhoneRecognizer
from strongroom.deid.recognizers.phone_shapes import PhoneNumberRecognizer
from strongroom.deid.recognizers.prompted_name import PromptedNameRecognizer
from strongroom.deid.recognizers.street_address import StreetAddressRecognizer
from strongroom.deid.recognizers.url_shape import UrlShapeRecognizer
from strongroom.deid.recognizers.us_zip_code import UsZipCodeRecognizer
from strongroom.deid.recognizers.vehicle import VehicleIdentifierRecognizer

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
    "PERSON": "A name after a prompt (name:, last name?, regards,) or alone on a first/last line",
    "EMAIL_ADDRESS": "E-mail address by its shape, whatever the top-level domain",
    "URL": "Web address with a scheme or www., up to the next space",
    "VEHICLE_IDENTIFIER": "VIN (17 characters, check digit) or a licence plate after its word",
    "DEVICE_IDENTIFIER": "Device serial number, IMEI, UDI or MAC address after its word",
}

_RECOGNIZERS: tuple[type[DeclaredRecognizer], ...] = (
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
    InternationalAddressRecognizer,
    ContextPhoneRecognizer,
    PromptedNameRecognizer,
    EmailShapeRecognizer,
    UrlShapeRecognizer,
    VehicleIdentifierRecognizer,
    DeviceSerialRecognizer,
)


def custom_recognizers() -> list[EntityRecognizer]:
    """New instances of strongroom's recognizers (each entity of ``ENTITIES`` has one or more).

    Add them to an ``AnalyzerEngine``'s registry (``registry.add_recognizer``) next to the
    predefined ones; each call builds fresh objects, so engines never share regex state.
    """
    return [*(cls() for cls in _RECOGNIZERS), NameLexiconRecognizer()]
