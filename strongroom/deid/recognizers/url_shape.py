"""Web addresses by their shape: a scheme, or "www.", and everything up to the next space.

Presidio's URL recognizer ends a match at a known top-level domain, so ``https://portal.example/
records?id=5`` is missed and an address can be cut at the first dot-word that looks like one.
Trailing punctuation of the sentence is left out.
"""

from __future__ import annotations

from strongroom.deid.recognizers.base import DeclaredRecognizer

_TAIL = r"[^\s<>\"'`]*[^\s<>\"'`.,;:!?)\]}]"


class UrlShapeRecognizer(DeclaredRecognizer):
    ENTITY = "URL"
    PATTERNS = (
        ("url_scheme", rf"\b(?:https?|ftp|sftp)://{_TAIL}", 0.7),
        ("url_www", rf"(?<![\w.@-])www\.[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+(?:[/?#]{_TAIL})?", 0.7),
    )
    CONTEXT = ()
