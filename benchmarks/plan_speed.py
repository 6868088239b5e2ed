"""Wall time of one `strongroom plan` call (the planner, with a compute budget) per epsilon and
number of people, in a fresh process each, imports included: the issue's target is under 1 s.

    .venv/bin/python benchmarks/plan_speed.py [--units 2000,50000,1000000] [--gpu-hours 24]

Each call is `python -m strongroom.cli plan --epsilon E --delta D --units N --gpu-hours H --gpu
h100` (D = min(1e-5, 1 / (10 N))), timed from process start to exit, so it includes Python's
start-up and every import. Last line: `max_s=... calls=... under_1s=true|false`, and one pair per
call, `eps<E>_units<N>=seconds`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

EPSILONS = (0.1, 1.0, 4.0, 32.0, 100.0, 1000.0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", default="2000,50000,1000000")
    parser.add_argument("--gpu-hours", default="24")
    args = parser.parse_args()
    pairs: dict[str, float] = {}
    print(f"{'epsilon':>8} {'units':>9} {'seconds':>8}  chosen")
    for units in (int(u) for u in args.units.split(",")):
        delta = min(1e-5, 1 / (10 * units))
        for epsilon in EPSILONS:
            argv = [sys.executable, "-m", "strongroom.cli", "plan", "--epsilon", str(epsilon),
                    "--delta", f"{delta:g}", "--units", str(units), "--gpu-hours",
                    args.gpu_hours, "--gpu", "h100"]  # fmt: skip
            started = time.perf_counter()
            done = subprocess.run(argv, capture_output=True, text=True, check=False)
            seconds = time.perf_counter() - started
            if done.returncode:
                print(done.stderr, file=sys.stderr)
                return 3
            chosen = next(line for line in done.stdout.splitlines() if line.startswith("*"))
            print(f"{epsilon:>8g} {units:>9} {seconds:>8.3f}  {' '.join(chosen.split()[1:6])}")
            pairs[f"eps{epsilon:g}_units{units}"] = round(seconds, 3)
    worst = max(pairs.values())
    print(f"max_s={worst:.3f} calls={len(pairs)} under_1s={str(worst < 1).lower()} "
          f"load={os.getloadavg()[0]:.2f} " + " ".join(f"{k}={v}" for k, v in pairs.items()))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
