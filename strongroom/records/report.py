"""HTML rendering of stage reports. Reports hold counts and names, never a record value."""

from __future__ import annotations

from html import escape
from typing import Any

_STYLE = (
    "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
    "td,th{border:1px solid #ccc;padding:4px 8px}.fail{color:#b00}.ok{color:#070}"
)


def render_validation_html(report: dict[str, Any]) -> str:
    status = "passed" if report["success"] else "FAILED"
    rows = "".join(
        f"<tr><td>{escape(e['expectation'])}</td>"
        f"<td class={'ok' if e['success'] else 'fail'}>{'pass' if e['success'] else 'fail'}</td>"
        f"<td>{int(e['unexpected'])}</td></tr>"
        for e in report["expectations"]
    )
    return (
        f"<!doctype html><html><head><meta charset=utf-8><title>Validation: "
        f"{escape(report['contract'])}</title><style>{_STYLE}</style></head><body>"
        f"<h1>Validation {status}: {escape(report['contract'])}</h1>"
        f"<p>rows in {report['rows_in']} = ok {report['rows_ok']} + quarantined "
        f"{report['rows_quarantined']} ({report['quarantine_fraction']:.2%}; limit "
        f"{report['max_quarantine_fraction']:.2%})</p>"
        f"<table><tr><th>expectation</th><th>result</th><th>rows</th></tr>{rows}</table>"
        "</body></html>"
    )
