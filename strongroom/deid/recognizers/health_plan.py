"""Medicare MBI, legacy HICN and insurer member / policy IDs."""

from __future__ import annotations

from strongroom.deid.recognizers.base import DeclaredRecognizer

# CMS MBI alphabet: A-Z without S, L, O, I, B, Z (they read like digits).
_MBI_A = "[AC-HJKMNP-RT-Y]"
_MBI_AN = "[0-9AC-HJKMNP-RT-Y]"


class HealthPlanBeneficiaryNumberRecognizer(DeclaredRecognizer):
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
