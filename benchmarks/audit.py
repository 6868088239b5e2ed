"""The privacy audit and the cost of privacy at scale: one corpus, DP runs at several epsilons, and
a non-private reference of the same plan.

Run it from the repository root:

    .venv/bin/python benchmarks/audit.py                           # 20,000 patients, epsilon 1, 8
    .venv/bin/python benchmarks/audit.py --units 2000 --threads 1  # the demo's size, shared CPU
    .venv/bin/python benchmarks/audit.py --init-from models:/NAME/1 --tracking-uri URI
                                          # from a public model (`strongroom pretrain`)
    .venv/bin/python benchmarks/audit.py --corpus-from ROOT --learning-rate 0.01 \
        --reference-learning-rate 0.004,0.006,0.008   # an earlier run's corpus; the reference
                                                      # compared at the best of its rates
    bash benchmarks/audit_gpu.sh                                   # 20,000 patients on one GPU

What runs, in this process, on one corpus:

1. `--units` generated hospital patients (strongroom.demo.hospital, seed `--records-seed`) through
   the pipeline's own stages: ingest, validate, de-identify (`--processes` workers), corpus with
   `--canaries` canaries (each trained on with probability 1/2, CSPRNG draw).
2. For each of `--epsilons`: `train_stage` (DP-SGD, Poisson over persons, secure randomness: a
   DP release), `evaluate_stage` (held-out loss) and `audit_stage` (one-run lower bound at 95%,
   exposure, membership inference, memorisation), exactly as the pipeline runs them.
3. The reference (strongroom/training/reference.py, what the pipeline's `--reference` runs): the
   same model, initialisation, learning rate, Adam and number of steps on the same corpus, the
   expected batch as a fixed batch, without clipping or noise; its held-out loss on the same
   held-out persons.

It prints a table (one row per epsilon: claimed epsilon, lower bound, guesses right, exposure of
trained-on / unseen canaries, membership AUC and TPR at 1% FPR, held-out loss and the DP /
reference held-out loss ratio) and, as the last line, name=value pairs:
`units=... canaries=... preset=... steps=... reference_loss=... eps<E>_claimed=...
eps<E>_lower_bound=... eps<E>_loss=... eps<E>_loss_ratio=... eps<E>_exposure_in=...
eps<E>_mia_auc=... bound_within_claim=true|false wall_s=... data_s=...`. Exit 0 when every lower
bound is at most its claimed epsilon, 1 otherwise (an audit that falsifies a run is a failure).
The issue's targets (loss ratio <= 1.10 at epsilon 8, <= 1.20 at epsilon 2) are printed as met /
not met, not enforced: they depend on the plan and the hardware as much as on the code.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

TARGET_RATIO = {8.0: 1.10, 2.0: 1.20}  # issue #14: DP / non-private held-out loss


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def build_corpus(args: argparse.Namespace, root: Path) -> dict[str, str]:
    from strongroom import stages
    from strongroom.demo.hospital import write_demo_records

    dirs = {name: str(root / name) for name in ("ingest", "validate", "deid", "corpus")}
    records = write_demo_records(root / "encounters.csv", args.units, seed=args.records_seed)
    stages.ingest_stage(str(records), "hospital_encounters", dirs["ingest"])
    stages.validate_stage(dirs["ingest"], "hospital_encounters", dirs["validate"])
    stages.deidentify_stage(
        dirs["validate"], "hospital_encounters", str(root / "pseudonym.key"), dirs["deid"],
        processes=args.processes,
    )  # fmt: skip
    stages.corpus_stage(
        dirs["deid"], "hospital_encounters", dirs["corpus"], max_seq_len=args.max_seq_len,
        canaries=args.canaries,
    )  # fmt: skip
    return dirs


def reference_loss(
    args: argparse.Namespace,
    corpus_dir: str,
    steps: int,
    model_dir: str | None,
    rate: float | None = None,
) -> float:
    """Held-out loss of the same plan without privacy: the pipeline's own reference
    (strongroom/training/reference.py, what `--reference` runs), from the DP run's start
    (`model_dir`'s starting weights; None: the seeded random start)."""
    from strongroom.corpus.build import EVAL_FILE, TRAIN_FILE
    from strongroom.model.config import preset
    from strongroom.stages import reference_start
    from strongroom.training.evaluate import held_out_loss
    from strongroom.training.reference import train_reference
    from strongroom.training.settings import TrainSettings

    tokens = np.load(Path(corpus_dir) / TRAIN_FILE)
    cfg = replace(preset(args.preset), max_seq_len=int(tokens.shape[-1]))
    rate = rate or args.learning_rate
    settings = TrainSettings(model_preset=args.preset, learning_rate=rate,
                             physical_batch_size=args.physical_batch, device=args.device)  # fmt: skip
    initial = None if model_dir is None else reference_start(model_dir)[0]  # public weights
    result = train_reference(
        tokens, cfg, steps=steps, batch_size=args.batch_size, settings=settings, initial=initial
    )
    metrics = held_out_loss(result.model, np.load(Path(corpus_dir) / EVAL_FILE))
    return float(metrics["loss"])


def dp_run(args: argparse.Namespace, dirs: dict[str, str], root: Path, epsilon: float) -> dict:
    from strongroom import stages
    from strongroom.privacy.plan import PrivacyParams
    from strongroom.run_record.reports import AuditReport, EvalReport, TrainReport
    from strongroom.training.settings import TrainSettings

    out = {name: str(root / f"eps{epsilon:g}-{name}") for name in ("model", "eval", "audit")}
    key = str(root / "seal.key")
    stages.train_stage(
        dirs["corpus"], out["model"], contract="hospital_encounters",
        privacy=PrivacyParams(target_epsilon=epsilon, delta=args.delta,
                              batch_size=args.batch_size, epochs=args.epochs),
        training=TrainSettings(model_preset=args.preset, learning_rate=args.learning_rate,
                               physical_batch_size=args.physical_batch, device=args.device,
                               init_from=args.init_from),
        seal_key_file=key, tracking_uri=args.tracking_uri,
    )  # fmt: skip
    stages.evaluate_stage(out["model"], dirs["corpus"], out["eval"])
    stages.audit_stage(out["model"], dirs["corpus"], out["audit"], seal_key_file=key)
    evidence = TrainReport.load(out["model"]).evidence
    return {
        "model_dir": out["model"],
        "claimed": max(evidence["epsilons"]["prv"], evidence["epsilons"]["pld"]),
        "steps": evidence["mechanism"]["steps"],
        "rate": evidence["mechanism"]["sampling_rate"],
        "sigma": evidence["mechanism"]["noise_multiplier"],
        "loss": EvalReport.load(out["eval"]).loss,
        **AuditReport.load(out["audit"]).evidence["audit"],
    }


def _row(epsilon: float, run: dict, reference: float | None) -> str:
    ratio = f"{run['loss'] / reference:.3f}" if reference else "-"
    tpr = run["mia_tpr_at_1pct_fpr"]
    return (
        f"{epsilon:>7g} {run['claimed']:>8.3f} {run['sigma']:>7.3f} {run['epsilon_lower_bound']:>7.3f} "
        f"{run['correct_guesses']:>4}/{run['guesses']:<4} {run['exposure_included']:>6.2f} "
        f"{run['exposure_excluded']:>6.2f} {run['mia_auc']:>6.3f} "
        f"{'-' if tpr is None else f'{tpr:.3f}':>6} {run['loss']:>7.3f} {ratio:>6}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=20_000, help="generated patients")
    parser.add_argument("--epsilons", default="1,8", help="comma-separated target epsilons")
    parser.add_argument("--canaries", type=int, default=1000)
    parser.add_argument("--preset", default="demo")
    parser.add_argument("--max-seq-len", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=256, help="expected Poisson batch")
    parser.add_argument("--physical-batch", type=int, default=128)
    parser.add_argument("--epochs", type=float, default=3.0)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument(
        "--reference-learning-rate",
        default="",
        help="Adam's rate(s) for the reference, comma-separated: one reference a rate, the best "
        "(lowest held-out loss) is the one compared, so that privacy does not look cheaper "
        "than it is (default: --learning-rate)",
    )
    parser.add_argument("--delta", type=float, default=1e-6)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--processes", type=int, default=2, help="de-identification workers")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--no-reference", action="store_true", help="skip the non-DP run")
    parser.add_argument(
        "--init-from", default=None, help="public model to start from (`strongroom pretrain`)"
    )
    parser.add_argument(
        "--tracking-uri",
        default=os.environ.get("MLFLOW_TRACKING_URI", ""),
        help="the store holding --init-from's model (default: $MLFLOW_TRACKING_URI)",
    )
    parser.add_argument("--records-seed", type=int, default=0)
    parser.add_argument("--workdir", default="strongroom-runs/bench-audit")
    parser.add_argument(
        "--corpus-from",
        default=None,
        metavar="ROOT",
        help="reuse the corpus of an earlier run (its <workdir>/<time> folder) instead of "
        "generating and de-identifying the records again (--units and --canaries must match)",
    )
    args = parser.parse_args()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    started = time.monotonic()
    root = Path(args.workdir) / time.strftime("%Y%m%d-%H%M%S")
    root.mkdir(parents=True)
    if args.corpus_from:
        dirs = {name: str(Path(args.corpus_from) / name) for name in ("ingest", "validate", "deid",
                                                                      "corpus")}  # fmt: skip
        _log(f"corpus: reused from {args.corpus_from}; runs -> {root}")
    else:
        _log(f"corpus: {args.units} patients, {args.canaries} canaries -> {root}")
        dirs = build_corpus(args, root)
    data_s = time.monotonic() - started
    runs = {}
    for epsilon in (float(e) for e in args.epsilons.split(",")):
        _log(f"DP run at epsilon {epsilon:g}")
        runs[epsilon] = dp_run(args, dirs, root, epsilon)
    first = next(iter(runs.values()))
    reference, tried = None, {}
    if not args.no_reference:
        rates = [float(r) for r in args.reference_learning_rate.split(",") if r] or [None]
        for rate in rates:
            _log(f"non-private reference run (Adam {rate or args.learning_rate:g})")
            tried[rate or args.learning_rate] = reference_loss(
                args, dirs["corpus"], first["steps"], first["model_dir"], rate
            )
        reference = min(tried.values())
    print(f"{args.units} patients, {args.canaries} canaries, preset {args.preset}, "
          f"{first['steps']} steps at q {first['rate']:.5f}; reference held-out loss "
          f"{reference if reference is None else round(reference, 4)}")  # fmt: skip
    print("epsilon  claimed   sigma   bound right/r  exp_in exp_out    auc tpr@1%    loss  ratio")
    pairs = {"units": args.units, "canaries": args.canaries, "preset": args.preset,
             "steps": first["steps"],
             "reference_loss": None if reference is None else round(reference, 4),
             **{f"reference_loss_at_{r:g}": round(v, 4) for r, v in tried.items()}}  # fmt: skip
    within = True
    for epsilon, run in runs.items():
        print(_row(epsilon, run, reference))
        within &= run["epsilon_lower_bound"] <= run["claimed"]
        name = f"eps{epsilon:g}"
        pairs |= {f"{name}_claimed": round(run["claimed"], 4),
                  f"{name}_lower_bound": round(run["epsilon_lower_bound"], 4),
                  f"{name}_loss": round(run["loss"], 4),
                  f"{name}_exposure_in": round(run["exposure_included"], 3),
                  f"{name}_mia_auc": round(run["mia_auc"], 4)}  # fmt: skip
        if reference:
            ratio = run["loss"] / reference
            pairs[f"{name}_loss_ratio"] = round(ratio, 4)
            if epsilon in TARGET_RATIO:
                met = "met" if ratio <= TARGET_RATIO[epsilon] else "not met"
                print(f"  target ratio <= {TARGET_RATIO[epsilon]} at epsilon {epsilon:g}: {met}")
    pairs |= {"bound_within_claim": str(within).lower(),
              "wall_s": round(time.monotonic() - started, 1), "data_s": round(data_s, 1)}  # fmt: skip
    print(" ".join(f"{k}={'none' if v is None else v}" for k, v in pairs.items()))
    return 0 if within else 1


if __name__ == "__main__":
    sys.exit(main())
