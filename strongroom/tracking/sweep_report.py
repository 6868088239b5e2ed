"""The sweep's table and plots, written beside its run and logged to MLflow as artifacts.

Every figure is a parameter or an aggregate statistic (held-out loss, the audit's bound); the
reference's are the rounded ones the card would show. Plots use matplotlib (installed with
mlflow) on its file-only backend.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the sweep (cli -> sweep -> stages) hands its result down here
    from strongroom.sweep import Sweep, SweepRow

SWEEP_EXPERIMENT = "strongroom-sweep"
COLUMNS = ("epsilon", "claimed", "sigma", "steps", "held_out_loss", "perplexity",
           "loss_ratio", "audit_lower_bound")  # fmt: skip


def _cells(value: float | int | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def table_rows(sweep: Sweep) -> list[list[str]]:
    """One row per epsilon, the columns of COLUMNS, as printed."""
    return [_row_cells(r) for r in sweep.rows]


def _row_cells(r: SweepRow) -> list[str]:
    return [
        f"{r.target_epsilon:g}",
        f"{r.epsilon:.3f}",
        f"{r.sigma:.3f}",
        str(r.steps),
        f"{r.loss:.3f}",
        f"{r.perplexity:.2f}",
        _cells(r.loss_ratio, ".2f"),
        _cells(r.lower_bound, ".3f"),
    ]


def table_text(sweep: Sweep) -> str:
    """The table a terminal shows, with the reference under it."""
    widths = [max(len(c), 9) for c in COLUMNS]
    lines = ["  ".join(c.rjust(w) for c, w in zip(COLUMNS, widths, strict=True))]
    for row in table_rows(sweep):
        lines.append("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)))
    ref = sweep.reference
    lines.append(
        f"reference (same plan, no privacy; not DP, rounded): held-out loss {ref.loss:.2f}, "
        f"perplexity {ref.perplexity:.2f}"
        if ref.loss is not None
        else "no reference (--reference trains the same plan without privacy)"
    )
    lines.append(
        f"{sweep.units:,} people in training, preset {sweep.preset}, batch {sweep.batch_size}; "
        "audit lower bound at the audit's confidence (95%)"
    )
    return "\n".join(lines)


def write_table(sweep: Sweep, out_dir: Path) -> list[Path]:
    """sweep.csv (the rows) and sweep.txt (as printed) in `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / "sweep.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerows(table_rows(sweep))
    (out_dir / "sweep.txt").write_text(table_text(sweep) + "\n")
    return [out_dir / "sweep.csv", out_dir / "sweep.txt"]


def plot(sweep: Sweep, out_dir: Path) -> list[Path]:
    """Held-out loss vs epsilon (the reference as a line), audit lower bound vs claimed epsilon,
    epsilon spent vs step per run. No per-step loss curve: training losses are exact statistics
    of the people trained on, kept out of MLflow (release.epsilon_series says why)."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on a server or in a pod
    import matplotlib.pyplot as plt

    claimed = [r.epsilon for r in sweep.rows]
    paths = [out_dir / f"{name}.png" for name in ("loss_vs_epsilon", "audit_vs_epsilon",
                                                   "epsilon_vs_step")]  # fmt: skip
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(claimed, [r.loss for r in sweep.rows], "o-", label="DP model")
    if sweep.reference.loss is not None:
        ax.axhline(sweep.reference.loss, color="grey", ls="--", label="non-private reference")
    ax.set(xscale="log", xlabel="epsilon (claimed)", ylabel="held-out loss (nats/byte)")
    ax.set_xticks(claimed, [f"{e:.3g}" for e in claimed], minor=False)
    ax.minorticks_off()  # the log axis' own labels (2x10^0) read worse than the epsilons
    ax.legend()
    fig.tight_layout()
    fig.savefig(paths[0], dpi=100)
    plt.close(fig)
    _epsilon_plot(sweep, paths[2], plt)
    fig, ax = plt.subplots(figsize=(5, 3.5))
    bounds = [(r.epsilon, r.lower_bound) for r in sweep.rows if r.lower_bound is not None]
    ax.plot([b[0] for b in bounds], [b[1] for b in bounds], "o-", label="audit lower bound")
    ax.plot(claimed, claimed, color="grey", ls="--", label="claimed epsilon")
    ax.set(xlabel="epsilon (claimed)", ylabel="empirical epsilon lower bound")
    ax.legend()
    fig.tight_layout()
    fig.savefig(paths[1], dpi=100)
    plt.close(fig)
    return paths


def _epsilon_plot(sweep: Sweep, path: Path, plt: Any) -> None:
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for r in sweep.rows:
        series = [(0, 0.0), *r.epsilon_series]  # nothing is spent before the first step
        ax.plot([s for s, _ in series], [e for _, e in series], "o-", ms=3,
                label=f"target {r.target_epsilon:g}")  # fmt: skip
    ax.set(xlabel="step", ylabel="epsilon spent (PRV)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def log_sweep(tracking_uri: str, sweep: Sweep, files: list[Path]) -> str:
    """An MLflow run in SWEEP_EXPERIMENT with the sweep's parameters and files; its id."""
    from strongroom.tracking.registry import _artifact_location, store_client, store_lock

    client = store_client(tracking_uri)
    with store_lock(tracking_uri):  # sweeps started together on one store make it once
        experiment = client.get_experiment_by_name(SWEEP_EXPERIMENT)
        experiment_id = (
            experiment.experiment_id
            if experiment
            else client.create_experiment(
                SWEEP_EXPERIMENT, artifact_location=_artifact_location(tracking_uri)
            )
        )
    run = client.create_run(experiment_id, run_name="privacy-utility sweep")
    params = {
        "epsilons": ",".join(f"{r.target_epsilon:g}" for r in sweep.rows),
        "units": sweep.units,
        "preset": sweep.preset,
        "batch_size": sweep.batch_size,
        "steps": sweep.rows[0].steps,
        "reference": sweep.reference.loss is not None,
    }
    for name, value in params.items():
        client.log_param(run.info.run_id, name, value)
    for path in files:
        client.log_artifact(run.info.run_id, str(path))
    client.set_terminated(run.info.run_id)
    return run.info.run_id
