"""Training entry point for one process or many: what a Kubeflow TrainJob (or torchrun) runs.

    python -m strongroom.training.launch --corpus DIR --out DIR --contract NAME [options]
    torchrun --nproc_per_node=8 -m strongroom.training.launch ...

The options are derived from the `privacy` and `training` parameter groups (PrivacyParams,
TrainSettings): a new training option appears here without touching this file. Under torchrun
each process trains on its share of the people with Opacus' distributed DP optimizer (per-person
clipping on every rank, one noise draw on rank 0, gradients summed), and rank 0 writes the model
and the report. The privacy plan is the same as for one process.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys

from pydantic import BaseModel

from strongroom.config import add_model_options, given_options, parse_groups
from strongroom.privacy.plan import PrivacyParams
from strongroom.training.settings import TrainSettings

GROUPS: dict[str, type[BaseModel]] = {"privacy": PrivacyParams, "training": TrainSettings}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="strongroom.training.launch", description=__doc__)
    parser.add_argument("--corpus", required=True, help="corpus stage output (train.npy)")
    parser.add_argument("--out", required=True, help="where model.pt and train_report.json go")
    parser.add_argument("--contract", default="hospital_encounters", help="name or YAML path")
    parser.add_argument("--seal-key-file", required=True, help="key that seals what ran")
    parser.add_argument(
        "--tracking-uri",
        default=os.environ.get("MLFLOW_TRACKING_URI", ""),
        help="MLflow store holding --init-from's public model (default: $MLFLOW_TRACKING_URI)",
    )
    for group, model in GROUPS.items():
        add_model_options(parser.add_argument_group(group), model)
    return parser


def main(argv: list[str] | None = None) -> int:
    import torch

    from strongroom.errors import StrongroomError
    from strongroom.run_record.params import RunParams
    from strongroom.stages import train_stage

    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if distributed:
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        torch.distributed.init_process_group(backend=backend)
    try:
        groups = {name: given_options(args, model) for name, model in GROUPS.items()}
        checked = parse_groups(groups, RunParams, source="strongroom.training.launch")
        result = train_stage(
            args.corpus,
            args.out,
            contract=args.contract,
            privacy=checked["privacy"],
            training=checked["training"],
            seal_key_file=args.seal_key_file,
            tracking_uri=args.tracking_uri,
        )
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
