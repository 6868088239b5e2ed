"""What would bring the DP / non-private held-out loss ratio under issue #14's targets: the ratio
measured over training-set sizes at one plan shape, and the size a fitted curve says is needed.

    .venv/bin/python benchmarks/ratio_curve.py --corpus DIR/corpus --epsilons 2,8 \\
        [--init-from models:/NAME/1 --tracking-uri URI] [--sizes 2318,4635,9270,18540]

`--corpus` is a corpus that benchmarks/audit.py built (its `<workdir>/<time>/corpus`, e.g. the
20,000-patient one). For each size N the first N training people form a corpus of their own
(same held-out people, no canaries). Every size runs the same plan shape: sampling rate
`--rate` (default 256 / the full corpus) and `--steps`, so the expected batch is q N while the
accountant sees the same q, steps and epsilon and calibrates the same sigma. The noise on the
mean gradient (sigma C / (q N)) therefore falls as 1 / N and the DP run approaches its
non-private reference (the same model, start, Adam, rate, steps and batch without clipping or
noise: strongroom/training/reference.py) as N grows: "more units" at a fixed plan.

Per size and epsilon: `train_stage` (DP-SGD as the pipeline runs it, secure randomness) and
`evaluate_stage` (held-out loss); per size: the reference. Then, per epsilon, a least-squares
fit of log(ratio - 1) = log a - b log N and the N at which each target (1.20 at epsilon 2,
1.10 at epsilon 8) would be met by the fitted curve: an extrapolation, printed as one.
One JSON line a run goes to `--out`; the last line printed is `name=value` pairs.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import audit  # the reference run and the targets

COPIED = ("contract.json", "corpus_report.json", "eval.npy")  # a size's corpus besides train.npy


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def subset_corpus(corpus: Path, size: int, into: Path) -> str:
    """The first `size` training people of `corpus` (and all its held-out people) in `into`."""
    into.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        shutil.copy2(corpus / name, into / name)
    np.save(into / "train.npy", np.load(corpus / "train.npy", mmap_mode="r")[:size])
    return str(into)


def dp_loss(args: argparse.Namespace, corpus_dir: str, out: Path, epsilon: float, batch: int):
    from strongroom import stages
    from strongroom.privacy.plan import PrivacyParams
    from strongroom.run_record.reports import EvalReport, TrainReport
    from strongroom.training.settings import TrainSettings

    units = len(np.load(Path(corpus_dir) / "train.npy", mmap_mode="r"))
    stages.train_stage(
        corpus_dir, str(out / "model"), contract="hospital_encounters",
        privacy=PrivacyParams(target_epsilon=epsilon, delta=args.delta, batch_size=batch,
                              epochs=args.steps * batch / units),
        training=TrainSettings(model_preset=args.preset, learning_rate=args.learning_rate,
                               physical_batch_size=args.physical_batch, device=args.device,
                               init_from=args.init_from),
        seal_key_file=str(Path(args.workdir) / "seal.key"), tracking_uri=args.tracking_uri,
    )  # fmt: skip
    stages.evaluate_stage(str(out / "model"), corpus_dir, str(out / "eval"))
    mechanism = TrainReport.load(str(out / "model")).evidence["mechanism"]
    return EvalReport.load(str(out / "eval")).loss, mechanism


def fit_power(sizes: list[int], excess: list[float]) -> tuple[float, float] | None:
    """(a, b) of excess = a N^-b by least squares in log-log; None when not every excess > 0."""
    if len(sizes) < 2 or min(excess) <= 0:
        return None
    slope, intercept = np.polyfit(np.log(sizes), np.log(excess), 1)
    return float(math.exp(intercept)), float(-slope)


def size_for(target: float, fit: tuple[float, float] | None) -> float | None:
    """The N at which the fitted curve reaches `target`; None without a falling fit."""
    if fit is None or fit[1] <= 0:
        return None
    a, b = fit
    return (a / (target - 1.0)) ** (1.0 / b)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", required=True, help="an audit.py corpus directory")
    parser.add_argument("--sizes", default="", help="training people per run (default: 1/8 .. 1)")
    parser.add_argument("--epsilons", default="2,8")
    parser.add_argument("--steps", type=int, default=36)
    parser.add_argument("--rate", type=float, default=None, help="default: 256 / all people")
    parser.add_argument("--preset", default="demo")
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--physical-batch", type=int, default=128)
    parser.add_argument("--delta", type=float, default=1e-6)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--init-from", default=None, help="public model (`strongroom pretrain`)")
    parser.add_argument("--tracking-uri", default=os.environ.get("MLFLOW_TRACKING_URI", ""))
    parser.add_argument("--workdir", default="strongroom-runs/ratio-curve")
    parser.add_argument("--out", default=None, help="JSON lines (default: <workdir>/runs.jsonl)")
    args = parser.parse_args()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    started = time.monotonic()
    corpus = Path(args.corpus)
    total = len(np.load(corpus / "train.npy", mmap_mode="r"))
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else [total // 8, total // 4,
                                                                        total // 2, total]  # fmt: skip
    rate = args.rate or 256 / total
    epsilons = [float(e) for e in args.epsilons.split(",")]
    Path(args.workdir).mkdir(parents=True, exist_ok=True)
    out_file = Path(args.out or Path(args.workdir) / "runs.jsonl")
    ratios: dict[float, list[float]] = {e: [] for e in epsilons}
    for size in sizes:
        root = Path(args.workdir) / f"n{size}"
        corpus_dir = subset_corpus(corpus, size, root / "corpus")
        batch = max(1, round(rate * size))
        losses, mechanisms = {}, {}
        for epsilon in epsilons:
            _log(f"N {size}: DP at epsilon {epsilon:g}, batch {batch}, {args.steps} steps")
            losses[epsilon], mechanisms[epsilon] = dp_loss(
                args, corpus_dir, root / f"eps{epsilon:g}", epsilon, batch
            )
        _log(f"N {size}: non-private reference")
        ref = SimpleNamespace(preset=args.preset, learning_rate=args.learning_rate,
                              physical_batch=args.physical_batch, device=args.device,
                              batch_size=batch)  # fmt: skip
        steps = mechanisms[epsilons[0]]["steps"]
        reference = audit.reference_loss(
            ref, corpus_dir, steps, str(root / f"eps{epsilons[0]:g}" / "model")
        )
        for epsilon in epsilons:
            ratio = losses[epsilon] / reference
            ratios[epsilon].append(ratio)
            row = {
                "units": size, "batch_size": batch, "steps": mechanisms[epsilon]["steps"],
                "sampling_rate": mechanisms[epsilon]["sampling_rate"],
                "noise_multiplier": mechanisms[epsilon]["noise_multiplier"],
                "target_epsilon": epsilon, "loss": round(losses[epsilon], 5),
                "reference_loss": round(reference, 5), "ratio": round(ratio, 4),
                "init_from": args.init_from, "learning_rate": args.learning_rate,
                "wall_s": round(time.monotonic() - started, 1), "load": round(os.getloadavg()[0], 2),
            }  # fmt: skip
            with out_file.open("a") as out:
                out.write(json.dumps(row) + "\n")
            print(f"N {size:>6} batch {batch:>4} eps {epsilon:>4g} sigma "
                  f"{row['noise_multiplier']:.3f} DP {losses[epsilon]:.3f} ref {reference:.3f} "
                  f"ratio {ratio:.3f}", flush=True)  # fmt: skip
    pairs = [f"sizes={','.join(map(str, sizes))}", f"steps={args.steps}", f"rate={rate:.5f}"]
    for epsilon in epsilons:
        fit = fit_power(sizes, [r - 1.0 for r in ratios[epsilon]])
        target = audit.TARGET_RATIO.get(epsilon)
        needed = None if target is None else size_for(target, fit)
        pairs += [f"eps{epsilon:g}_ratios={','.join(f'{r:.3f}' for r in ratios[epsilon])}",
                  f"eps{epsilon:g}_fit=" + ("none" if fit is None else f"{fit[0]:.4g}*N^-{fit[1]:.3f}"),
                  f"eps{epsilon:g}_units_for_target=" + ("n/a" if needed is None else f"{needed:.0f}")]  # fmt: skip
    pairs.append(f"wall_s={time.monotonic() - started:.1f}")
    print(" ".join(pairs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
