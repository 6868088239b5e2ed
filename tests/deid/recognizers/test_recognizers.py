"""strongroom's custom Presidio recognizers, run through a real AnalyzerEngine.

The engine matters: the context words only raise a score inside AnalyzerEngine's context
enhancer, which needs the spaCy lemmas, so calling a recognizer's ``analyze`` alone would not
test the "bare number near 'account'" cases.
"""

from __future__ import annotations

import pytest
from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
from presidio_analyzer.nlp_engine import NlpEngineProvider

from strongroom.deid.engine.setup import DEFAULT_SPACY_MODEL
from strongroom.deid.recognizers import ENTITIES, custom_recognizers

THRESHOLD = 0.5  # above the 0.2 of a bare format, below context-boosted (0.55) and keyword scores


@pytest.fixture(scope="module")
def engine() -> AnalyzerEngine:
    # Built like setup.analyzer_engine() but separately: that one is lru_cached and shared, and
    # adding recognizers to it here would leak into other tests.
    pytest.importorskip(DEFAULT_SPACY_MODEL)
    nlp_engine = NlpEngineProvider(
        nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": "en", "model_name": DEFAULT_SPACY_MODEL}],
        }
    ).create_engine()
    registry = RecognizerRegistry()
    registry.load_predefined_recognizers(nlp_engine=nlp_engine)
    for recognizer in custom_recognizers():
        registry.add_recognizer(recognizer)
    return AnalyzerEngine(nlp_engine=nlp_engine, registry=registry, supported_languages=["en"])


# (entity, text, substring the found span must cover; None: the entity must not be found).
CASES: list[tuple[str, str, str | None]] = [
    ("MEDICAL_RECORD_NUMBER", "MRN 12345678 admitted for CHF", "12345678"),
    ("MEDICAL_RECORD_NUMBER", "Pt identified, MRN: 1234567.", "1234567"),
    ("MEDICAL_RECORD_NUMBER", "medical record number 0012345678 on file", "0012345678"),
    ("MEDICAL_RECORD_NUMBER", "Label shows MR# 1234567", "1234567"),
    ("MEDICAL_RECORD_NUMBER", "Chart 7654321 reviewed today", "7654321"),  # context only
    ("MEDICAL_RECORD_NUMBER", "MRN 12345 pending registration", None),  # too short
    ("MEDICAL_RECORD_NUMBER", "Mr 1234567 called the desk", None),  # "Mr" is not "MR#"
    ("MEDICAL_RECORD_NUMBER", "Gave 1234567 units overnight", None),  # no context
    ("HEALTH_PLAN_BENEFICIARY_NUMBER", "Medicare MBI 1EG4-TE5-MK73 verified", "1EG4-TE5-MK73"),
    ("HEALTH_PLAN_BENEFICIARY_NUMBER", "beneficiary 1EG4TE5MK73 eligible", "1EG4TE5MK73"),
    ("HEALTH_PLAN_BENEFICIARY_NUMBER", "HICN 123456789A on old card", "123456789A"),
    ("HEALTH_PLAN_BENEFICIARY_NUMBER", "policy number ABC123456789", "ABC123456789"),
    ("HEALTH_PLAN_BENEFICIARY_NUMBER", "Member ID: XYZ987654321 (Aetna)", "XYZ987654321"),
    ("HEALTH_PLAN_BENEFICIARY_NUMBER", "Code 1SG4TE5MK73 on the form", None),  # S not in MBI
    ("HEALTH_PLAN_BENEFICIARY_NUMBER", "plan to recheck BMP in 2 weeks", None),
    ("HEALTH_PLAN_BENEFICIARY_NUMBER", "member of the care team since 2019", None),
    ("HEALTH_PLAN_BENEFICIARY_NUMBER", "Lot 123456789 released", None),  # no HICN suffix
    ("ACCOUNT_NUMBER", "Please credit account 12345678901 today", "12345678901"),
    ("ACCOUNT_NUMBER", "Wire to a/c no. 987654321 failed", "987654321"),
    ("ACCOUNT_NUMBER", "acct ***1234 was charged twice", "1234"),
    ("ACCOUNT_NUMBER", "my checking account ending in 4321", "4321"),
    ("ACCOUNT_NUMBER", "ref 123456789 posted twice", "123456789"),  # context only
    ("ACCOUNT_NUMBER", "The account on file is 12345678", "12345678"),  # context only
    ("ACCOUNT_NUMBER", "Batch 12345678 shipped today", None),  # no context
    ("ACCOUNT_NUMBER", "account 1234567 closed", None),  # too short
    ("ACCOUNT_NUMBER", "my card ending soon", None),
    ("ACCOUNT_NUMBER", "account code XK123456789", None),  # digits inside a code
    ("NPI", "Ordering NPI 1234567893", "1234567893"),
    ("NPI", "NPI: 1245319599", "1245319599"),
    ("NPI", "Referring provider 1987654328", "1987654328"),  # context only, checksum valid
    ("NPI", "Ordering NPI 1234567890", None),  # checksum fails
    ("NPI", "Call 1234567893 after 5pm", None),  # valid, but no context
    ("US_ZIP_CODE", "Springfield, IL 62704", "62704"),
    ("US_ZIP_CODE", "zip 02139 on the claim", "02139"),
    ("US_ZIP_CODE", "ZIP code: 10001-1234", "10001-1234"),
    ("US_ZIP_CODE", "Boise, ID 83702", "83702"),
    ("US_ZIP_CODE", "Patient ID 12345 noted", None),  # "ID" only means Idaho before 83xxx
    ("US_ZIP_CODE", "Paid 25000 in fees", None),
    ("US_ZIP_CODE", "zip 1234 is short", None),
    ("STREET_ADDRESS", "Lives at 123 Main Street with wife", "123 Main Street"),
    ("STREET_ADDRESS", "Flat 3, 12 Baker Street, London", "Flat 3, 12 Baker Street"),
    (
        "STREET_ADDRESS",
        "Mail to 1600 Pennsylvania Avenue NW, Apt 4",
        "1600 Pennsylvania Avenue NW, Apt 4",
    ),
    ("STREET_ADDRESS", "Home: 4500 N Oak Blvd Suite 200", "4500 N Oak Blvd Suite 200"),
    ("STREET_ADDRESS", "SHIP TO 12 MAIN ST", "12 MAIN ST"),
    ("STREET_ADDRESS", "The restaurant is at 291 Tylova 285", "291 Tylova 285"),
    (
        "STREET_ADDRESS",
        "Henry Gibson\n    39496 Τιμολέοντος Βάσσου 154",
        "39496 Τιμολέοντος Βάσσου 154",
    ),
    ("STREET_ADDRESS", "Take 2 Tylenol 500 mg at 8", None),  # a dose
    ("STREET_ADDRESS", "on 3 Occasions 2 weeks apart", None),  # a count and a duration
    ("STREET_ADDRESS", "walked 2 blocks down the street", None),  # lower case
    ("STREET_ADDRESS", "Meet at 12 Main for lunch", None),  # no suffix
    ("STREET_ADDRESS", "Dr Smith saw 3 patients", None),
    ("AGE_OVER_89", "92-year-old female with CHF", "92"),
    ("AGE_OVER_89", "a 90-yr-old man", "90"),
    ("AGE_OVER_89", "aged 94, lives alone", "94"),
    ("AGE_OVER_89", "age: 101", "101"),
    ("AGE_OVER_89", "95 yo M with fall", "95"),
    ("AGE_OVER_89", "97 y/o F", "97"),
    ("AGE_OVER_89", "89-year-old woman", None),
    ("AGE_OVER_89", "45 yo male", None),
    ("AGE_OVER_89", "BP 90/60 on arrival", None),
    ("AGE_OVER_89", "took 90 mg daily", None),
    ("AGE_OVER_89", "moved to room 95", None),
    ("AGE_OVER_89", "infant, age 90 days", None),  # a duration
    ("CARD_EXPIRY", "card exp 04/27", "04/27"),
    ("CARD_EXPIRY", "expiry 04/2027", "04/2027"),
    ("CARD_EXPIRY", "It expires 12/26.", "12/26"),
    ("CARD_EXPIRY", "valid thru 11/25", "11/25"),
    ("CARD_EXPIRY", "seen 04/27 in clinic", None),  # no keyword
    ("CARD_EXPIRY", "exp 13/27", None),  # no month 13
    ("CARD_CVV", "CVV 123", "123"),
    ("CARD_CVV", "CVC: 4567 given over phone", "4567"),
    ("CARD_CVV", "security code 321", "321"),
    ("CARD_CVV", "zip code 123 fields", None),  # "code" alone
    ("CARD_CVV", "CVV 12 too short", None),
    ("CARD_CVV", "CVV 12345 too long", None),
    ("US_SSN", "SSN 078-05-1120 on file", "078-05-1120"),
    ("US_SSN", "social 536-90-4411, verified", "536-90-4411"),
    ("US_SSN", "ID 219-09-9999 copied", "219-09-9999"),
    ("US_SSN", "call 212-555-0100 today", None),  # a phone number
    ("US_SSN", "lot 2024-05-1234 recalled", None),  # four digits first
    # the project's own generator never wrote these shapes (presidio-evaluator's kind of text)
    ("PERSON", "What's your last name? Holst", "Holst"),
    ("PERSON", "Name: Bartłomiej Sokołowski", "Bartłomiej Sokołowski"),
    ("PERSON", "Thanks for the help.\nRegards,\nAnn N Okafor", "Ann N Okafor"),
    ("PERSON", 'Robert "Bobby" Smith called', '"Bobby"'),
    ("PERSON", "name: metformin 500 mg", None),  # not capitalised
    ("PERSON", "The plan is simple\nfollow up in two weeks", None),  # lower-case line
    ("STREET_ADDRESS", "return it to 096 Langwiesstrasse 90 in Widnau", "096 Langwiesstrasse 90"),
    ("STREET_ADDRESS", "office at Via Nizza 41, Torino", "Via Nizza 41"),
    ("STREET_ADDRESS", "lives at ul. Bruzdowa 124", "ul. Bruzdowa 124"),
    ("STREET_ADDRESS", "she moved, Apt. 914 now", "Apt. 914"),
    ("STREET_ADDRESS", "at 161 Welser Strasse 93 in Wels", "161 Welser Strasse 93"),
    ("STREET_ADDRESS", "mail to PSC 1948, Box 5200 please", "PSC 1948, Box 5200"),
    ("STREET_ADDRESS", "mail to APO AE 51156 please", "APO AE 51156"),
    ("STREET_ADDRESS", "send to P.O. Box 46 today", "P.O. Box 46"),
    ("STREET_ADDRESS", "the box 46 was empty", None),
    ("STREET_ADDRESS", "the route 66 bus was late", None),
    ("STREET_ADDRESS", "via email 24 times", None),  # lower-case, no name
    ("STREET_ADDRESS", "I moved to 4698 rue des Églises Est", "4698 rue des Églises Est"),
    ("STREET_ADDRESS", "at 53 place Stanislas, Nancy", "53 place Stanislas"),
    ("STREET_ADDRESS", "Send it to 41925 Bem rakpart 81. please", "Bem rakpart 81."),
    ("STREET_ADDRESS", "lives at Árpád fejedelem útja 89.", "Árpád fejedelem útja 89."),
    ("STREET_ADDRESS", "at R Damião Góis 105 today", "R Damião Góis 105"),
    ("STREET_ADDRESS", "Please return to USNV Musić\nFPO AP 78173", "USNV Musić\nFPO AP 78173"),
    ("STREET_ADDRESS", "sent to 0452 Postbox 115", "Postbox 115"),
    ("STREET_ADDRESS", "The title refers to Letališka 72 street", "Letališka 72"),
    ("STREET_ADDRESS", "validate the following? 587 Canelones 2266", "587 Canelones 2266"),
    (
        "STREET_ADDRESS",
        "Meet me at the corner of Aðalstræti 49 and Mauer Parkways",
        "the corner of Aðalstræti 49 and Mauer Parkways",
    ),
    ("STREET_ADDRESS", "at 053 Olav Duuns gate 134 now", "Olav Duuns gate 134"),
    ("STREET_ADDRESS", "meet at Fabrinet, 4786 Nieuwkerk 67, Goirle", "4786 Nieuwkerk 67"),
    ("STREET_ADDRESS", "at Trg Republike 3 today", "Trg Republike 3"),
    (
        "STREET_ADDRESS",
        "given his address: 405 86 Cours Marechal-Joffre",
        "86 Cours Marechal-Joffre",
    ),
    ("STREET_ADDRESS", "lives at 216 Karaiskaki Sq, Ineia", "216 Karaiskaki Sq"),
    ("STREET_ADDRESS", "took 2 Tylenol 500 mg, Then slept", None),
    ("STREET_ADDRESS", "sore R Knee 2 weeks", None),  # "R" is right, "2 weeks" a duration
    ("STREET_ADDRESS", "Patient is on Lasix 40 mg daily", None),
    ("STREET_ADDRESS", "a 2 place setting", None),  # lower-case type, no name after it
    ("PHONE_NUMBER", "Phone: 79 749 74 51", "79 749 74 51"),
    ("PHONE_NUMBER", "stop sending messages to 436 2014", "436 2014"),
    ("PHONE_NUMBER", "083 646 0344-Office", "083 646 0344"),
    ("PHONE_NUMBER", "You can call 463 436 698", "463 436 698"),
    ("PHONE_NUMBER", "They're not answering at 53-55-05-64", "53-55-05-64"),
    ("PHONE_NUMBER", "no message on my registered 771 830 025.", "771 830 025"),
    ("PHONE_NUMBER", "call 2 times daily, dial 911", None),  # too few digits
    ("PHONE_NUMBER", "phone 12 then", None),  # too few digits
    ("CREDIT_CARD", "limit on my card # 578487089844 please", "578487089844"),
    ("CREDIT_CARD", "limit on my card # 578487089845 please", None),  # fails Luhn
    ("MEDICAL_RECORD_NUMBER", "see chartMRN04857211 today", "04857211"),
    ("EMAIL_ADDRESS", "write to jane.doe@hospital.example today", "jane.doe@hospital.example"),
    ("EMAIL_ADDRESS", "bob@mail.corp; thanks", "bob@mail.corp"),
    ("EMAIL_ADDRESS", "o'neil+ward@x.internal", "o'neil+ward@x.internal"),
    ("EMAIL_ADDRESS", "meet @ 5 at the desk", None),
    ("EMAIL_ADDRESS", "ratio a@b is undefined", None),  # no dotted host
    ("URL", "see https://portal.example/records?id=5.", "https://portal.example/records?id=5"),
    ("URL", "at www.clinic.internal/x, then", "www.clinic.internal/x"),
    ("URL", "ftp://files.local/a.pdf", "ftp://files.local/a.pdf"),
    ("URL", "the www was down", None),
    ("URL", "e.g. in the notes", None),
    ("VEHICLE_IDENTIFIER", "VIN 1HGCM82633A004352 on file", "1HGCM82633A004352"),
    ("VEHICLE_IDENTIFIER", "car 1M8GDM9AXKP042788 towed", "1M8GDM9AXKP042788"),
    ("VEHICLE_IDENTIFIER", "licence plate: KA 05 AB 1234 seen", "KA 05 AB 1234"),
    ("VEHICLE_IDENTIFIER", "VIN 1HGCM82633A004353 on file", None),  # check digit wrong
    ("VEHICLE_IDENTIFIER", "plate of pasta, 2 servings", None),
    ("DEVICE_IDENTIFIER", "pacemaker serial no. PM4471-22931", "PM4471-22931"),
    ("DEVICE_IDENTIFIER", "S/N: 4X7-22931-B replaced", "4X7-22931-B"),
    ("DEVICE_IDENTIFIER", "IMEI 356938035643809", "356938035643809"),
    ("DEVICE_IDENTIFIER", "serial dilutions were done", None),
    ("DEVICE_IDENTIFIER", "SN stable overnight", None),  # no digit
]


@pytest.mark.parametrize(("entity", "text", "expected"), CASES)
def test_recognizer(engine: AnalyzerEngine, entity: str, text: str, expected: str | None) -> None:
    results = engine.analyze(text, language="en", entities=[entity], score_threshold=THRESHOLD)
    spans = [text[r.start : r.end] for r in results if r.entity_type == entity]
    if expected is None:
        assert spans == [], f"{entity} wrongly found in {text!r}"
    else:
        # The identifier must be inside one span, not split over two.
        assert any(expected in span for span in spans), f"{entity} {expected!r} not in {spans}"


def test_every_entity_is_tested_both_ways() -> None:
    # Guards the table: each entity keeps >= 3 true positives and >= 2 near misses.
    for entity in ENTITIES:
        hits = [exp for ent, _, exp in CASES + EXTRA_CASES if ent == entity]
        assert sum(e is not None for e in hits) >= 3 and sum(e is None for e in hits) >= 2, entity


def test_custom_recognizers_match_entities_and_are_fresh() -> None:
    first, second = custom_recognizers(), custom_recognizers()
    assert {e for r in first for e in r.supported_entities} == set(ENTITIES)
    # Fresh objects: Presidio caches compiled regexes on each Pattern.
    assert all(a is not b for a, b in zip(first, second, strict=True))
    assert all(
        a.patterns[0] is not b.patterns[0]
        for a, b in zip(first, second, strict=True)
        if hasattr(a, "patterns")
    )


EXTRA_CASES = [
    ("STREET_ADDRESS", "moved to 40 Smart Point last May", "40 Smart Point"),
    ("STREET_ADDRESS", "Studio 9, 12 Bethan Mission, Leeds", "Studio 9, 12 Bethan Mission"),
    ("STREET_ADDRESS", "send it to 51393 Linda Divide Suite 115", "51393 Linda Divide Suite 115"),
    ("CREDIT_CARD", "charged card 2289 7568 5125 0220 twice", "2289 7568 5125 0220"),
    ("CREDIT_CARD", "visa 4000 0000 0000 0000 006 expired", "4000 0000 0000 0000 006"),
    ("CREDIT_CARD", "order 1234 5678 9012 3456 shipped", None),  # starts with 1
    ("IBAN_CODE", "IBAN GB82 WEST 1234 5698 7654 32 please", "GB82 WEST 1234 5698 7654 32"),
    ("PHONE_NUMBER", "room 12, bed 4, ward 7", None),
    ("IBAN_CODE", "code ES00 ABCD EFGH IJKL MNOP QRST here", None),  # the shape, not the checksum
    ("CREDIT_CARD", "pan 2223000048400011 on file", "2223000048400011"),
    ("CREDIT_CARD", "ref 2223000048400012 on file", None),  # fails Luhn
    (
        "IBAN_CODE",
        "credit ES91 2100 0418 4502 0005 1332 today",
        "ES91 2100 0418 4502 0005 1332",
    ),
    ("IBAN_CODE", "to AT611904300234573201 with thanks", "AT611904300234573201"),
    ("IBAN_CODE", "to AT611904300234573202 with thanks", None),  # fails mod 97
    ("PHONE_NUMBER", "call 392-768-4452x90137 today", "392-768-4452x90137"),
    ("PHONE_NUMBER", "call (381)946-5461 today", "(381)946-5461"),
    ("PHONE_NUMBER", "mobile +44(0)7700 900069 please", "+44(0)7700 900069"),
    ("PHONE_NUMBER", "or 001-271-673-8640x140", "001-271-673-8640x140"),
    ("PHONE_NUMBER", "dose 25 mg at 0800", None),
]


@pytest.mark.parametrize(("entity", "text", "found"), EXTRA_CASES)
def test_patterns_presidio_lacks(engine, entity, text, found):
    results = [r for r in engine.analyze(text, language="en", score_threshold=0.5)
               if r.entity_type == entity]  # fmt: skip
    spans = [text[r.start : r.end] for r in results]
    assert (found in spans) if found else not spans, spans
