"""US ZIP codes after a state code or keyword; bare ones near context."""

from __future__ import annotations

from strongroom.deid.recognizers.base import DeclaredRecognizer

# USPS state and territory codes; case-sensitive, so "in 46201" is not Indiana. "ID" is far more
# often "identifier" than Idaho, so it only counts before an Idaho ZIP (832xx-838xx).
_STATES = (
    r"ID(?=\.?,?\s+83[2-8])|"
    "AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|"
    "NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|PR|GU|VI|AS|MP"
)
_ZIP = r"[0-9]{5}(?:-[0-9]{4})?(?![0-9-])"


class UsZipCodeRecognizer(DeclaredRecognizer):
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
