"""Hospital medical record numbers (MRN), after their keyword or near context."""

from __future__ import annotations

from strongroom.deid.recognizers.base import NUM_SUFFIX, DeclaredRecognizer


class MedicalRecordNumberRecognizer(DeclaredRecognizer):
    ENTITY = "MEDICAL_RECORD_NUMBER"
    _KEY = r"\b(?:MRN|MR\s?\#|med(?:ical)?\.?\s+rec(?:ord)?\.?|hospital\s+(?:number|no\.?))"
    PATTERNS = (
        ("mrn_keyword", rf"(?=[0-9])(?<={_KEY}{NUM_SUFFIX})[0-9]{{6,10}}\b", 0.85),
        # Any 6-10 digit word: counts only next to "MRN"/"record"/"chart" (0.2 + 0.35).
        ("mrn_bare", r"(?<!\w)[0-9]{6,10}(?!\w)", 0.2),
        # Glued to the words around it, as exports and OCR leave it: "chartMRN04857211".
        ("mrn_glued", r"(?=[0-9])(?<=(?:MRN|MR\#|chart)[:#]?)[0-9]{6,10}(?![0-9])", 0.85),
    )
    CONTEXT = ("mrn", "record", "chart")
