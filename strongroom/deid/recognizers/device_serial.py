"""Device identifiers and serial numbers (Safe Harbor #13), right after their word.

Serial numbers have no common shape; "serial", "S/N", "SN", "IMEI", "device ID", "MAC" and
"pacemaker / implant serial" introduce them. A run of letters, digits and dashes with at least one
digit is taken; an IMEI is 15 digits anyway.
"""

from __future__ import annotations

from strongroom.deid.recognizers.base import CASED_FLAGS, DeclaredRecognizer

_KEY = (
    r"(?:\b(?i:serial(?:\s+(?:no\.?|number|num|\#))?|device\s+id|imei|udi|mac\s+address)"
    r"|\bS/N|\bSN)\s*(?:is\s+)?[:#]?\s*"
)


class DeviceSerialRecognizer(DeclaredRecognizer):
    ENTITY = "DEVICE_IDENTIFIER"
    FLAGS = CASED_FLAGS
    PATTERNS = (
        (
            "serial_after_word",
            rf"(?=[A-Za-z0-9])(?<={_KEY})(?=[\w:-]*[0-9])[A-Za-z0-9](?:[A-Za-z0-9:-]){{3,40}}"
            r"(?<=[A-Za-z0-9])(?![\w-])",
            0.85,
        ),
    )
    CONTEXT = ()
