"""Training entry point for one process or many: what a Kubeflow TrainJob (or torchrun) runs.

    python -m strongroom.training.launch --corpus DIR --out DIR [options]
    torchrun --nproc_per_node=8 -m strongroom.training.launch --corpus DIR --out DIR [options]

Under torchrun each process trains on its share of the people with Opacus' distributed DP
optimizer (per-person clipping on every rank, one noise draw on rank 0, gradients summed), and
rank 0 writes the model and the report. The privacy plan is the same as for one process.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="strongroom.training.launch", description=__doc__)
    parser.add_argument("--corpus", required=True, help="corpus stage output (train.npy)")
    parser.add_argument("--out", required=True, help="where model.pt and train_report.json go")
    parser.add_argument("--preset", default="demo")
    parser.add_argument("--epsilon", type=float, required=True, help="target epsilon (per person)")
    parser.add_argument("--delta", type=float, required=True)
    parser.add_argument("--batch-size", type=int, default=64, help="expected logical batch")
    parser.add_argument("--physical-batch-size", type=int, default=0, help="0: whole batch")
    parser.add_argument("--epochs", type=float, default=3.0)
    parser.add_argument("--max-grad-norm", type=float, default=1.0)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--checkpoint-dir", default="", help="resumable state (a shared volume)")
    parser.add_argument("--secure-mode", action="store_true", help="CSPRNG sampling and noise")
    return parser


def main(argv: list[str] | None = None) -> int:
    import torch

    from strongroom.errors import StrongroomError
    from strongroom.stages import train_stage

    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if distributed:
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        torch.distributed.init_process_group(backend=backend)
    try:
        result = train_stage(
            args.corpus, args.out, model_preset=args.preset, target_epsilon=args.epsilon,
            delta=args.delta, batch_size=args.batch_size, epochs=args.epochs,
            max_grad_norm=args.max_grad_norm, learning_rate=args.learning_rate, seed=args.seed,
            physical_batch_size=args.physical_batch_size, checkpoint_dir=args.checkpoint_dir,
            secure_mode=args.secure_mode,
        )  # fmt: skip
    except StrongroomError as error:
        print(f"strongroom: {error}", file=sys.stderr)
        return 2
    finally:
        if distributed:
            torch.distributed.destroy_process_group()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
