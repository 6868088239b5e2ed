"""The small sweep the planner's loss law is fitted on: DP (and non-private) runs on the demo
corpus, one JSON line each, for `strongroom plan --fit`.

    .venv/bin/python benchmarks/plan_sweep.py --out sweep.jsonl               # the default grid
    .venv/bin/python benchmarks/plan_sweep.py --runs demo:64:87:4,demo:64:87:inf --out x.jsonl
    .venv/bin/python benchmarks/plan_sweep.py --shard 0/2 ...                  # half the grid
    .venv/bin/python benchmarks/plan_sweep.py --grid rates --max-seq-len 384 --learning-rates \
        0.006,0.015,0.03 --out rates.jsonl      # the law's grid at the demo's compute, 3 rates

The corpus is the demo's: `--units` generated hospital patients (default 2,000, seed 0) through
the pipeline's stages with the demo's 128 canaries (benchmarks/audit.py's `build_corpus`); it is
built once under `--workdir` and reused. A run is `preset:batch:steps:epsilon[:rate]` (Adam's
rate; default `--learning-rate`, and `--learning-rates` runs every spec at each): `train_stage`
(DP-SGD exactly as the pipeline runs it, secure randomness) then `evaluate_stage` (held-out
loss); epsilon `inf` is audit.py's non-private reference of the same plan (same model, init,
Adam, learning rate and steps, the expected batch as a fixed batch; no clipping, no noise).
Each line records what ran (the mechanism's sigma and rate, steps, parameters, FLOPs by
strongroom.planning.compute), the held-out loss, the wall time and the load average, so that
a law fitted on it says what it saw.
Last line: `runs=... wall_s=... load=...`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import audit  # the corpus and the non-private reference

GRIDS = {
    # tiny and demo presets at about the 512-byte demo plan's compute (3.0e12 FLOPs) and below,
    # over batch, steps and epsilon, all at Adam 0.002: what 2 shared cores do in ~25 minutes.
    "first": (
        "demo:64:87:4,demo:64:87:1,demo:64:87:16,demo:64:87:inf,demo:256:22:4,demo:256:44:4,"
        "demo:16:160:4,demo:512:12:4,demo:128:44:1,tiny:64:100:4,tiny:256:50:4,tiny:1024:12:4,"
        "tiny:256:50:1,tiny:256:50:16,tiny:256:50:inf,tiny:512:50:4"
    ),
    # At the 384-byte demo plan's compute (1.42e12 FLOPs: demo 64 x 60) and half of it, each
    # shape meant to run at several Adam rates (--learning-rates): the law is fitted on each
    # shape's best, since a rate that suits 60 steps does not suit 600.
    "rates": (
        "demo:64:60:4,tiny:64:321:4,demo:32:120:4,tiny:128:160:4,demo:128:30:4,tiny:32:643:4,"
        "demo:16:240:4,tiny:256:80:4,demo:64:30:4,tiny:64:160:4,tiny:32:321:4,demo:64:60:1,"
        "tiny:64:321:1,demo:64:60:16,tiny:64:321:16"
    ),
}


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def corpus(args: argparse.Namespace) -> dict[str, str]:
    root = Path(args.workdir) / f"corpus-{args.units}-{args.records_seed}-{args.max_seq_len}"
    dirs = {name: str(root / name) for name in ("ingest", "validate", "deid", "corpus")}
    if not (root / "corpus" / "train.npy").exists():
        root.mkdir(parents=True, exist_ok=True)
        spec = SimpleNamespace(units=args.units, records_seed=args.records_seed,
                               processes=args.processes, max_seq_len=args.max_seq_len,
                               canaries=128)  # fmt: skip
        audit.build_corpus(spec, root)
    return dirs


def one_run(spec: str, dirs: dict[str, str], args: argparse.Namespace) -> dict:
    from strongroom import stages
    from strongroom.model.config import preset
    from strongroom.planning.compute import flops_per_token, parameter_count
    from strongroom.privacy.plan import PrivacyParams, poisson_rate
    from strongroom.run_record.reports import EvalReport, TrainReport
    from strongroom.training.settings import TrainSettings

    name, batch, steps, eps, *rest = spec.split(":")
    batch, steps, epsilon = int(batch), int(steps), float(eps)
    learning_rate = float(rest[0]) if rest else args.learning_rate
    tokens = np.load(Path(dirs["corpus"]) / "train.npy", mmap_mode="r")
    units, seq_len = int(tokens.shape[0]), int(tokens.shape[1])
    rate = poisson_rate(units, batch)
    started = time.monotonic()
    if epsilon == float("inf"):
        ref = SimpleNamespace(preset=name, learning_rate=learning_rate, device="cpu",
                              physical_batch=args.physical_batch, batch_size=batch)  # fmt: skip
        loss, sigma = audit.reference_loss(ref, dirs["corpus"], steps, None), 0.0
    else:
        out = Path(args.workdir) / "runs" / f"{spec.replace(':', '-')}-{time.time_ns()}"
        privacy = PrivacyParams(target_epsilon=epsilon, delta=args.delta, batch_size=batch,
                                epochs=steps * rate)  # fmt: skip
        training = TrainSettings(model_preset=name, learning_rate=learning_rate,
                                 physical_batch_size=args.physical_batch, device="cpu")  # fmt: skip
        stages.train_stage(dirs["corpus"], str(out / "model"), contract="hospital_encounters",
                           privacy=privacy, training=training,
                           seal_key_file=str(Path(args.workdir) / "seal.key"))  # fmt: skip
        stages.evaluate_stage(str(out / "model"), dirs["corpus"], str(out / "eval"))
        mechanism = TrainReport.load(str(out / "model")).evidence["mechanism"]
        sigma, steps = mechanism["noise_multiplier"], mechanism["steps"]
        loss = EvalReport.load(str(out / "eval")).loss
    cfg = preset(name)
    return {
        "preset": name, "params": parameter_count(cfg), "batch_size": batch, "steps": steps,
        "sampling_rate": rate, "units": units, "seq_len": seq_len, "target_epsilon": eps,
        "delta": args.delta, "noise_multiplier": sigma, "loss": round(float(loss), 5),
        "flops": steps * batch * seq_len * flops_per_token(cfg, seq_len),
        "learning_rate": learning_rate, "corpus": f"demo hospital {args.units} units "
        f"seed {args.records_seed}, 128 canaries", "wall_s": round(time.monotonic() - started, 1),
        "load": round(os.getloadavg()[0], 2),
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", help="preset:batch:steps:epsilon[:rate],... (inf: no DP)")
    parser.add_argument("--grid", choices=sorted(GRIDS), default="first",
                        help="a stored grid, when --runs is not given")  # fmt: skip
    parser.add_argument("--learning-rates", help="R1,R2,...: every run at each of these rates")
    parser.add_argument("--shard", default="0/1", help="i/n: every n-th run from the i-th")
    parser.add_argument("--units", type=int, default=2000)
    parser.add_argument("--records-seed", type=int, default=0)
    parser.add_argument("--delta", type=float, default=1e-5, help="the demo's delta")
    parser.add_argument("--learning-rate", type=float, default=2e-3, help="the demo's rate")
    parser.add_argument("--physical-batch", type=int, default=64)
    parser.add_argument("--max-seq-len", type=int, default=512, help="bytes per person's example")
    parser.add_argument("--processes", type=int, default=2, help="de-identification workers")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--workdir", default="strongroom-runs/plan-sweep")
    parser.add_argument("--out", required=True, help="JSON lines, appended")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    started = time.monotonic()
    index, count = (int(x) for x in args.shard.split("/"))
    specs = (args.runs or GRIDS[args.grid]).split(",")
    if args.learning_rates:
        specs = [f"{spec}:{rate}" for spec in specs for rate in args.learning_rates.split(",")]
    specs = specs[index::count]
    dirs = corpus(args)
    for spec in specs:
        _log(f"run {spec}")
        row = one_run(spec, dirs, args)
        with open(args.out, "a") as out:
            out.write(json.dumps(row) + "\n")
        _log(f"  loss {row['loss']} sigma {row['noise_multiplier']:.3f} in {row['wall_s']} s")
    print(f"runs={len(specs)} wall_s={time.monotonic() - started:.1f} "
          f"load={os.getloadavg()[0]:.2f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
