"""Street addresses in the orders of other countries: the street before the house number.

"Kantstrasse 40", "Barkargatan 44", "Nøkkeveien 238" (the street type glued to the name),
"Welser Strasse 93" (the type as a word of its own), "Via Nizza 41", "ul. Bruzdowa 124",
"73 Rue Ibn Al Khatib" (a street-type word before the name), "Victor Hugo u. 97." (Hungarian);
and US military and post-office-box addresses ("PSC 1948, Box 5200", "APO AE 51156", "P.O. Box
46"), and in a line of its own or after "at" a street with no type word, in any script ("9009
Möhe 63"). A leading building number ("8618 Norderhovgata 153") is part of the match. The street-type
words are those of the national postal conventions; a capitalised name and a house number must go
with them, so prose ("the route 66 bus") does not match.
"""

from __future__ import annotations

from strongroom.deid.recognizers.base import CASED_FLAGS, UPPER_LETTER, DeclaredRecognizer

_LETTER = UPPER_LETTER

# street types written as the end of the street's name (German, Nordic, Dutch, Finnish, Polish ...)
_GLUED = (
    "strasse", "straße", "str.", "gasse", "weg", "allee", "platz", "ring", "damm", "ufer",
    "gatan", "vägen", "gränd", "backen", "veien", "vegen", "vei", "gata", "gade", "vej", "stien",
    "laan", "straat", "plein", "gracht", "kade", "singel", "utca", "tie", "katu", "polku", "kuja",
    "tee", "iela", "gatve",
)  # fmt: skip
# street-type words that come before the name (French, Italian, Spanish, Portuguese, Polish ...)
_BEFORE = (
    "Rue", "Avenue", "Av.", "Bd", "Boulevard", "Chemin", "Route", "Allée", "Impasse", "Place",
    "Quai", "Via", "Viale", "Vicolo", "Corso", "Piazza", "Largo", "Strada", "Calle", "Avenida",
    "Avda.", "Paseo", "Plaza", "Plazuela", "Ronda", "Camino", "Carrer", "Rua", "Travessa",
    "Praça", "Estrada", "ul.", "al.", "Aleja", "Plac", "Osiedle", "Bulevardul", "Calea",
    "Strada", "Odos", "Leoforos", "Rúa", "Praceta", "Ctra.", "Carretera", "R.", "R", "Cours",
    "Trg", "πλατεία", "οδός", "Οδός", "Πλατεία",
)  # fmt: skip
# the same, as French, Italian, Spanish and Portuguese write them after a number ("53 place
# Stanislas", "4698 rue des Églises"): only between a number and a capitalised name
_BEFORE_LOWER = (
    "rue",
    "avenue",
    "boulevard",
    "chemin",
    "route",
    "allée",
    "impasse",
    "place",
    "quai",
    "via",
    "viale",
    "corso",
    "piazza",
    "calle",
    "avenida",
    "rua",
    "travessa",
)
_WORD = rf"{_LETTER}[\w'’.-]*"
_PARTICLE = r"(?:d[aeiou]s?|de|del|della|di|la|le|les|du|des|van|von|der|den|al|el|ibn)"
_NUMBER = r"[0-9]{1,5}[A-Za-z]?\b\.?"
# the same street types written as a word of their own after the name ("Welser Strasse 93")
_AFTER = (
    "Strasse", "Straße", "Str.", "Gasse", "Weg", "Allee", "Platz", "Ring", "Damm", "Ufer", "Gata",
    "Gatan", "Vägen", "Veien", "Vej", "Gade", "Laan", "Straat", "Plein", "Utca", "Tie", "Katu",
    "Iela", "Cesta", "Ulica", "Sokak", "Caddesi", "Aqq.",
    # written in lower case after the name ("Gosposka ulica 117", "Leif Jensons plass 75")
    "plass", "ulica", "cesta", "utca", "gade", "vej", "gata", "straat", "laan", "iela", "veg",
    "vei", "vegen", "veien",
)  # fmt: skip
_ANY_WORD = r"\p{Lu}[\p{L}\p{M}'’.-]*"  # a capitalised word in any script (the regex module)
_NOT_AFTER = (
    r"[ \t]*(?i:mg|mcg|g|kg|ml|l|units?|iu|%|mmhg|bpm|times|tabs?|x|years?|yrs?|days?|weeks?"
    r"|months?|hours?|hrs?|min|mins|am|pm)\b"
)
# inside a side, short lower-case words too: street types ("út", "rkp.", "gate") and particles
_CORNER_PART = rf"(?:{_ANY_WORD}|[0-9]{{1,5}}[A-Za-z]?\.?|\p{{Ll}}[\p{{L}}\p{{M}}'.]{{0,4}}|C/)"
_CORNER_SIDE = rf"(?=[0-9\p{{Lu}}]|ul\.){_CORNER_PART}(?:[ \t]+{_CORNER_PART}){{0,5}}"
_AFTER_RX = "|".join(w.replace(".", r"\.") for w in _AFTER)
_GLUED_RX = "|".join(w.replace(".", r"\.") for w in _GLUED)
_BEFORE_RX = "|".join(w.replace(".", r"\.") for w in _BEFORE)
_BEFORE_ANY_RX = "|".join(w.replace(".", r"\.") for w in _BEFORE + _BEFORE_LOWER)
# Hungarian street types follow the name in lower case ("Bem rakpart 81.", "Árpád fejedelem
# útja 89.", "Erzsébet tér 19.")
_HUNGARIAN = "u.|utca|út|útja|tér|tere|körút|krt.|rakpart|rkp.|fasor|köz|sor|sétány|park|kapu"
_HUNGARIAN_RX = "|".join(w.replace(".", r"\.") for w in _HUNGARIAN.split("|"))


class InternationalAddressRecognizer(DeclaredRecognizer):
    ENTITY = "STREET_ADDRESS"
    FLAGS = CASED_FLAGS
    PATTERNS = (
        (
            "street_type_glued",
            rf"(?:\b[0-9]{{1,5}}\s+)?\b{_LETTER}[\w'’-]*(?i:{_GLUED_RX})\s+{_NUMBER}",
            0.6,
        ),
        (
            "street_type_before_then_number",
            rf"(?:\b[0-9]{{1,5}}\s+)?(?<![\w.])(?:{_BEFORE_RX})\s+(?:{_PARTICLE}\s+)?"
            rf"(?:(?:{_WORD}|{_PARTICLE})\s+){{0,4}}{_WORD}\s+{_NUMBER}(?!{_NOT_AFTER})",
            0.6,
        ),
        (
            "number_then_street_type",
            rf"\b[0-9]{{1,5}},?\s+(?:{_BEFORE_ANY_RX})\s+(?:{_PARTICLE}\s+)?"
            rf"{_WORD}(?:\s+(?:{_WORD}|{_PARTICLE})){{0,4}}",
            0.6,
        ),
        (
            "street_type_after_name",
            rf"(?:\b[0-9]{{1,5}}\s+)?\b{_WORD}(?:\s+{_WORD})?\s+(?:{_AFTER_RX})\s+{_NUMBER}",
            0.6,
        ),
        # US military and post-office-box addresses: "PSC 1948, Box 5200", "APO AE 51156"
        ("military_unit", r"\b(?:PSC|CMR|Unit)\s+[0-9]{1,5},?\s+Box\s+[0-9]{1,5}\b", 0.6),
        # a ship's line above its FPO line ("USNV Musić", "USCGC Pritchett")
        (
            "military_post",
            rf"(?:\b(?:USS|USNS|USNV|USCGC)[ \t]+{_ANY_WORD}(?:[ \t]+{_ANY_WORD})?\s*\n\s*)?"
            r"\b(?:APO|FPO|DPO)\s+(?:AA|AE|AP)\s+[0-9]{5}\b",
            0.6,
        ),
        ("po_box", r"\b(?:P\.\s?O\.|PO|Post)\s?(?i:box)\s+[0-9]{1,6}\b", 0.6),
        (
            "hungarian",
            rf"\b{_ANY_WORD}(?:\s+[\p{{L}}\p{{M}}]+){{0,2}}\s+(?:{_HUNGARIAN_RX})\s+{_NUMBER}",
            0.6,
        ),
        # Norwegian: a person's name in the genitive, then "gate" ("Olav Duuns gate 134")
        (
            "norwegian_gate",
            rf"\b{_ANY_WORD}(?:[ \t]+{_ANY_WORD}){{0,2}}s[ \t]+gate[ \t]+{_NUMBER}",
            0.6,
        ),
        # a street and its number with the town after a comma, no type word ("Vahtra 56, Tartu")
        (
            "number_name_number_town",
            rf"\b[0-9]{{1,5}}[ \t]+{_ANY_WORD}(?:[ \t]+{_ANY_WORD}){{0,2}}[ \t]+[0-9]{{1,5}}[A-Za-z]?"
            rf"(?=,[ \t]*\p{{Lu}}[\p{{L}}\p{{M}}-]+(?:[ \t]+\p{{Lu}}[\p{{L}}\p{{M}}-]+)?(?:[,.;]|\s*$))",
            0.6,
        ),
        # a corner: "the corner of Aðalstræti 49 and Mauer Parkways"
        (
            "corner",
            rf"(?i:(?:the[ \t]+)?corner[ \t]+of)[ \t]+{_CORNER_SIDE}[ \t]+and[ \t]+{_CORNER_SIDE}",
            0.6,
        ),
        # a street named, numbered and called a street ("Letališka 72 street", "Välja 82 St.")
        (
            "name_number_street",
            rf"\b{_ANY_WORD}(?:[ \t]+(?:{_ANY_WORD}|{_PARTICLE})){{0,3}}[ \t]+[0-9]{{1,5}}[A-Za-z]?"
            r"(?=[ \t]+(?:street|Street|St\.))",
            0.6,
        ),
        # No street type at all, any script ("9009 Möhe 63", "621 Αρτεμισίου 62"): a building
        # number, one to four capitalised words and a house number, starting a line or after
        # "at", "to", "in", "with", "address:"; never a dose, a count or a duration ("2 Tylenol
        # 500 mg").
        (
            "number_name_number",
            rf"(?=[0-9])(?<=(?:^|[?:]|\b(?:at|to|on|in|of|with|(?i:address)|located)\s*:?)"
            r"[ \t}?]*)"
            rf"[0-9]{{1,5}}[ \t]+"
            rf"(?:{_ANY_WORD}|C/)(?:[ \t]+{_ANY_WORD}){{0,3}}[ \t]+{_NUMBER}(?!{_NOT_AFTER})",
            0.6,
        ),
    )
    CONTEXT = ("address", "live", "reside", "home", "street", "addr")
