"""E-mail addresses by their shape alone, whatever the top-level domain.

Presidio's e-mail recognizer checks the top-level domain against a list, so an address on a
reserved or internal domain (``.example``, ``.internal``, ``.corp``, ``.local``) is missed; to
de-identify, the shape decides: local part, ``@``, dotted host name.
"""

from __future__ import annotations

from strongroom.deid.recognizers.base import DeclaredRecognizer

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"


class EmailShapeRecognizer(DeclaredRecognizer):
    ENTITY = "EMAIL_ADDRESS"
    PATTERNS = (
        (
            "email_shape",
            rf"(?<![\w.+-])[\w.!#$%&'*+/=?^`{{|}}~-]+@{_LABEL}(?:\.{_LABEL})+(?![\w-])",
            0.8,
        ),
    )
    CONTEXT = ()
