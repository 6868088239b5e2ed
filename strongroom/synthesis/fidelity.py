"""Fidelity of synthetic records against held-out real (de-identified) ones, as distances only.

Per column: total variation distance between the value distributions of a categorical column;
the two-sample Kolmogorov-Smirnov statistic of a numeric one (generalised columns are numeric
except "90+", whose share is compared as a category); for free text, the KS statistic of the
lengths. Pairs: Cramér's V of categorical pairs (numeric columns cut into quintiles of the pooled
values), synthetic against real. The report holds distances and association strengths, never a
value, a category or a quantile of the real records (they would quote real content).
Tests: tests/synthesis/test_fidelity.py.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp

from strongroom.records.contract import ColumnSpec, Contract
from strongroom.synthesis.released import GENERALISED_PATTERN

MAX_PAIRS = 12
_BINS = 5


def column_kind(spec: ColumnSpec, intake: ColumnSpec) -> str:
    """numeric | categorical | text, for a released column and its intake spec."""
    if spec.type in ("int", "float") or intake.treatment in GENERALISED_PATTERN:
        return "categorical" if intake.treatment.value == "zip3" else "numeric"
    if intake.free_text:
        return "text"
    return "categorical"


def tvd(a: pd.Series, b: pd.Series) -> float:
    """Total variation distance of two samples' value distributions (None is a value)."""
    p = a.fillna("<null>").value_counts(normalize=True)
    q = b.fillna("<null>").value_counts(normalize=True)
    both = p.index.union(q.index)
    return float(0.5 * np.abs(p.reindex(both, fill_value=0) - q.reindex(both, fill_value=0)).sum())


def _numbers(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values, errors="coerce")


def ks(a: pd.Series, b: pd.Series) -> float | None:
    a, b = a.dropna(), b.dropna()
    if len(a) == 0 or len(b) == 0:
        return None
    return float(ks_2samp(a.to_numpy(float), b.to_numpy(float)).statistic)


def cramers_v(x: pd.Series, y: pd.Series) -> float | None:
    """Bias-uncorrected Cramér's V of two categorical samples (rows where both are present)."""
    both = pd.DataFrame({"x": x, "y": y}).dropna()
    if len(both) < 2:
        return None
    table = pd.crosstab(both["x"], both["y"]).to_numpy(float)  # [r, c]
    r, c = table.shape
    if min(r, c) < 2:
        return None
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / table.sum()
    chi2 = float(((table - expected) ** 2 / expected).sum())
    return float(np.sqrt(chi2 / (table.sum() * (min(r, c) - 1))))


def _binned(syn: pd.Series, real: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Quintile bins of the pooled numbers (the edges are not reported)."""
    pooled = pd.concat([syn, real]).dropna()
    if pooled.nunique() < 2:
        return syn, real
    edges = np.unique(np.quantile(pooled, np.linspace(0, 1, _BINS + 1)))
    cut = lambda s: pd.cut(s, edges, include_lowest=True, labels=False)  # noqa: E731
    return cut(syn), cut(real)


def fidelity(
    synthetic: pd.DataFrame, real: pd.DataFrame, released: Contract, intake: Contract
) -> dict[str, Any]:
    """Per-column distances and pairwise associations (see the module docstring)."""
    columns: dict[str, dict[str, Any]] = {}
    as_categories: dict[str, tuple[pd.Series, pd.Series]] = {}
    for name, spec in released.columns.items():
        if name not in intake.columns or name in (released.privacy_unit, released.primary_key):
            continue
        if name not in real.columns:
            continue
        kind = column_kind(spec, intake.columns[name])
        syn, ref = synthetic[name], real[name]
        entry: dict[str, Any] = {
            "kind": kind,
            "missing_share_gap": abs(syn.isna().mean() - ref.isna().mean()),
        }
        if kind == "numeric":
            s_num, r_num = _numbers(syn), _numbers(ref)
            entry["ks"] = ks(s_num, r_num)
            # "90+" and other non-numbers: their share, synthetic vs real
            entry["non_numeric_share_gap"] = float(
                abs((s_num.isna() & syn.notna()).mean() - (r_num.isna() & ref.notna()).mean())
            )
            as_categories[name] = _binned(s_num, r_num)
        elif kind == "text":
            entry["length_ks"] = ks(syn.str.len(), ref.str.len())
        else:
            entry["tvd"] = tvd(syn, ref)
            entry["real_categories_seen"] = float(ref.dropna().isin(set(syn.dropna())).mean())
            as_categories[name] = (syn, ref)
        columns[name] = entry
    pairs = []
    for a, b in list(combinations(as_categories, 2))[:MAX_PAIRS]:
        v_syn = cramers_v(*(s[0] for s in (as_categories[a], as_categories[b])))
        v_real = cramers_v(*(s[1] for s in (as_categories[a], as_categories[b])))
        gap = None if v_syn is None or v_real is None else abs(v_syn - v_real)
        pairs.append(
            {"columns": [a, b], "cramers_v_synthetic": v_syn, "cramers_v_real": v_real, "gap": gap}
        )
    return {
        "records_synthetic": len(synthetic),
        "records_real": len(real),
        "columns": columns,
        "pairs": pairs,
    }
