"""DP-SGD training (Opacus ghost clipping, book-keeping clipping) against plain training of the
same model, on the same machine, side by side.

Run it from the repository root:

    .venv/bin/python benchmarks/dp_overhead.py                      # small, seq 1024, batch 8 (CPU)
    .venv/bin/python benchmarks/dp_overhead.py --steps 2 --seq 256  # a quick check
    .venv/bin/python benchmarks/dp_overhead.py --threads 1          # a CPU shared with others
    .venv/bin/python benchmarks/dp_overhead.py --preset base --device cuda --batch 64 \
        --physical 16 --steps 5 --peak-tflops 989                   # as benchmarks/gpu_check.sh

What runs: the `--preset` decoder at `--seq` tokens a row, on random bytes (each row's last 0 to
`--pad` of its tokens are padding). One fresh child process for non-DP and one per DP clipping
mode in `--clipping` (default: ghost, then book_keeping), so that their peak memory compares:

- non-DP: GemmaDecoder, SequenceLoss (mean over the batch), torch.optim.Adam (fused on CUDA),
  bf16 autocast on CUDA (DP book-keeping too, with its norms and sums in float32; DP ghost runs
  float32 throughout, so that the clipping bound holds: its ratio includes that cost); a fixed batch of exactly `--batch` rows a step, in passes of
  `--physical` rows (gradient accumulation, as DP's BatchMemoryManager does). Each step is timed
  (torch.cuda.synchronize on CUDA); time a step = mean over `--steps` after `--warmup`.
- DP: `strongroom.training.dp_sgd.train_dp` (TrainSettings.clipping = the mode) with a plan for `--units` people, so that the
  Poisson rate is 1 / ceil(units / batch). By default units = batch: the rate is 1, every person
  joins every step, and the DP batch is exactly the non-DP one (same code path: Opacus' Poisson
  loader, BatchMemoryManager, clipping, noise). `--units` = k x batch gives rate 1/k and Poisson
  batches of expected size `--batch` that vary from step to step (at k = 20, batch 8: a standard
  deviation of 2.8 rows, which 3 steps do not average out). Physical batches of `--physical`.
  TrainResult.seconds is the whole loop, with an accountant call at the last step (0.2 s and
  more on CPU, not the same for different step counts, so differences of runs are off by that
  much): instead the child times each step from the end of the one before, with
  train_dp's on_step hook (after torch.cuda.synchronize on CUDA), as the non-DP steps are timed, in
  one run of warmup + steps + 1 steps (the last, with the accountant call, is not measured).

Poisson batches (with --units > --batch) vary in size, so the headline `token_time_ratio` is
DP / non-DP time per 1,000 trained (non-padding target) tokens, from the sums over the measured
steps; `time_ratio` (mean time a step) and `token_time_ratio_median` (medians over steps: robust
to other processes stealing the CPU) are printed too.

Peak memory: on CPU the child's peak RSS (ru_maxrss), on CUDA torch.cuda.max_memory_allocated().
The baseline is taken in each child after the imports and the data, before any model is built
(train_dp builds its own), so the weights count as training memory in both; `mem_ratio` (the one
the goal is judged on) is the ratio above that baseline, `mem_ratio_raw` that of the raw peaks.

On a CPU that other processes share, use --threads 1: with 2+ threads a process, every op waits
at its barrier for a thread the scheduler has parked (a tiny step went from 6 ms to 250 ms).

Goals (reported, not enforced): DP / non-DP time <= 1.15x, memory <= 1.10x. When the time goal
is missed, one DP step (a whole train_dp(max_steps=1) call, set-up included) and one non-DP step
are profiled (torch.profiler) and the top ops by self time are printed side by side.

With --peak-tflops (bf16 dense peak of the GPU), it prints MFU = model FLOPs a token x positions
a second / peak, with model FLOPs a token = 6 x parameters + 12 x layers x (heads x head_dim) x
sequence (PaLM's count; positions include padding, which is computed too).

After the table it prints, per layer shape of the preset, how book-keeping clipping gets each
person's norm at this sequence length (ghost norm or instantiated gradient) and what it keeps.

The last line is `preset=... seq=... batch=... device=... base_ms_per_step=...
base_tokens_per_s=...` then, for each DP mode with the suffix `_ghost` or `_bk`: `time_ratio`,
`token_time_ratio`, `mem_ratio`, `dp_ms_per_step`, `mem_ratio_raw`, `dp_tokens_per_s`,
`token_time_ratio_median` (and `mfu_base`, `mfu_dp_<mode>` with --peak-tflops). Exit status 0 whether or not the goals are met; 3 when a child failed (its error
output is shown).
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import statistics
import subprocess
import sys
import time
import warnings
from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy as np
    import torch

    from strongroom.model.config import GemmaConfig
    from strongroom.model.gemma import SequenceLoss
    from strongroom.privacy.plan import DPPlan
    from strongroom.training.dp_sgd import TrainResult

SCRIPT = Path(__file__).resolve()
TIME_GOAL = 1.15
MEMORY_GOAL = 1.10
PROFILE_ROWS = 10
MIB = 1024 * 1024

# --- shared ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measurement:
    step_seconds: list[float]  # each measured step (warm-up steps left out)
    step_rows: list[int]  # rows (people) each measured step trained on
    step_tokens: list[int]  # non-padding target tokens each measured step trained on
    baseline_mib: float  # memory after the imports and the data, before any model
    peak_mib: float  # peak memory of the child (before any profiling)
    n_params: int
    flops_per_token: float  # PaLM's model FLOPs a position: 6 N + 12 L (heads x head_dim) T
    profile: dict[str, list[float]]  # op -> [self ms, calls] of one profiled step; may be empty
    note: str = ""  # anything the reader should know about this measurement

    @property
    def steps(self) -> int:
        return len(self.step_seconds)

    @property
    def seconds(self) -> float:
        return sum(self.step_seconds)

    @property
    def rows(self) -> int:
        return sum(self.step_rows)

    @property
    def tokens(self) -> int:
        return sum(self.step_tokens)

    @property
    def ms_per_step(self) -> float:
        return 1000 * self.seconds / self.steps

    @property
    def median_ms_per_step(self) -> float:
        return 1000 * statistics.median(self.step_seconds)

    @property
    def ms_per_1k_tokens(self) -> float:
        return 1e6 * self.seconds / self.tokens

    @property
    def median_ms_per_1k_tokens(self) -> float:
        pairs = zip(self.step_seconds, self.step_tokens, strict=True)
        return 1e6 * statistics.median(s / t for s, t in pairs if t)  # empty batches left out

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.seconds

    @property
    def above_mib(self) -> float:
        return self.peak_mib - self.baseline_mib


class ChildFailed(RuntimeError):
    """A child process exited non-zero; the message holds its error output."""


def progress(message: str) -> None:
    print(f"[dp_overhead] {message}", file=sys.stderr, flush=True)


# --- children -------------------------------------------------------------------------------------


def make_tokens(units: int, seq: int, pad: float, seed: int) -> np.ndarray:
    """[units, seq] int64 random bytes; each row ends in 0 to pad * seq PAD tokens."""
    import numpy as np

    from strongroom.corpus.tokenizer import PAD

    rng = np.random.default_rng(seed)
    tokens = rng.integers(0, 256, size=(units, seq), dtype=np.int64)
    tails = rng.integers(0, int(pad * seq) + 1, size=units)  # [units]
    tokens[np.arange(seq)[None, :] >= (seq - tails)[:, None]] = PAD
    return tokens


def child_setup(
    args: argparse.Namespace,
) -> tuple[GemmaConfig, np.ndarray, torch.device, int]:
    """The same imports, data and steps in both children, so that their baselines match.

    The model's config, the tokens, the device and the parameter count (of a model on the meta
    device: no memory).
    """
    warnings.filterwarnings("ignore", category=UserWarning)  # Opacus' secure-RNG and hook notes
    # the PRV accountant takes log(1 - q) = log(0) at rate 1 (the default): harmless there
    warnings.filterwarnings("ignore", "divide by zero", RuntimeWarning, r"opacus\.accountants")
    import opacus  # noqa: F401  (imported in both children for the baseline)
    import torch

    import strongroom.training.dp_sgd  # noqa: F401
    from strongroom.model.config import preset
    from strongroom.model.gemma import GemmaDecoder

    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = replace(preset(args.preset), max_seq_len=args.seq)
    with torch.device("meta"):
        n_params = GemmaDecoder(cfg).num_parameters()
    tokens = make_tokens(args.units, args.seq, args.pad, args.seed)
    return cfg, tokens, torch.device(args.device), n_params


def memory_baseline(device: torch.device) -> float:
    """MiB in use now, after which the peak counts (CUDA: the peak statistics restart here)."""
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        return torch.cuda.memory_allocated() / MIB
    return peak_rss_mib()


def memory_peak(device: torch.device) -> float:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() / MIB
    return peak_rss_mib()


def peak_rss_mib() -> float:
    """This process's peak resident set size so far (ru_maxrss: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (MIB if sys.platform == "darwin" else 1024)


def flops_per_token(cfg: GemmaConfig, n_params: int) -> float:
    """PaLM's model FLOPs a position (forward + backward): 6 N + 12 L (heads x head_dim) T."""
    attention_width = cfg.n_heads * cfg.head_dim
    return float(6 * n_params + 12 * cfg.n_layers * attention_width * (cfg.max_seq_len - 1))


def synchronize(device: torch.device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize()


def profile_ops(work: Callable[[], object], device: torch.device) -> dict[str, list[float]]:
    """op -> [self ms, calls] of `work` under torch.profiler (self device time on CUDA)."""
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU]
    if device.type == "cuda":
        activities.append(ProfilerActivity.CUDA)
    with profile(activities=activities) as prof:
        work()
        synchronize(device)
    attr = "self_device_time_total" if device.type == "cuda" else "self_cpu_time_total"
    ops = {e.key: [getattr(e, attr) / 1000, float(e.count)] for e in prof.key_averages()}
    return {name: value for name, value in ops.items() if value[0] > 0}


def base_step(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    criterion: SequenceLoss,
    batch: torch.Tensor,
    physical: int,
) -> int:
    """One step on `batch` [B, T] in passes of `physical` rows; the trained tokens."""
    import torch

    from strongroom.model.gemma import shift

    device = next(model.parameters()).device
    cuda = device.type == "cuda"
    tokens = 0
    optimizer.zero_grad(set_to_none=True)
    for chunk in batch.split(physical):
        chunk = chunk.to(device, non_blocking=True)  # [b, T]
        inputs, targets = shift(chunk)  # [b, T-1] each
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=cuda):
            logits = model(inputs)  # [b, T-1, V]
        loss = criterion(logits.float(), targets) * (len(chunk) / len(batch))
        loss.backward()
        tokens += int((targets != criterion.pad_id).sum())
    optimizer.step()
    return tokens


def child_base(args: argparse.Namespace) -> Measurement:
    """Plain training: a fixed batch of args.batch rows a step, each step timed."""
    import torch

    from strongroom.model.gemma import GemmaDecoder, SequenceLoss
    from strongroom.training.dp_sgd import TrainSettings

    cfg, tokens, device, n_params = child_setup(args)
    data = torch.from_numpy(tokens)  # [units, T]
    baseline = memory_baseline(device)
    torch.manual_seed(args.seed)
    model = GemmaDecoder(cfg).to(device).train()
    lr = TrainSettings().learning_rate
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, fused=device.type == "cuda")
    criterion = SequenceLoss(cfg.pad_id)

    def step(index: int) -> int:
        batch = data[(index * args.batch + torch.arange(args.batch)) % len(data)]  # [B, T]
        return base_step(model, optimizer, criterion, batch, args.physical)

    record: list[list[float]] = []
    for index in range(args.warmup + args.steps):
        synchronize(device)
        started = time.perf_counter()
        trained = step(index)
        synchronize(device)
        record.append([time.perf_counter() - started, args.batch, trained])
    peak = memory_peak(device)
    ops = profile_ops(lambda: step(0), device) if args.profile else {}
    return measurement(record[args.warmup :], baseline, peak, cfg, n_params, ops)


def measurement(
    record: list[list[float]],
    baseline: float,
    peak: float,
    cfg: GemmaConfig,
    n_params: int,
    ops: dict[str, list[float]],
    note: str = "",
) -> Measurement:
    """A Measurement from [seconds, rows, tokens] a measured step."""
    seconds, rows, tokens = ([row[i] for row in record] for i in range(3))
    return Measurement(
        step_seconds=seconds,
        step_rows=[int(r) for r in rows],
        step_tokens=[int(t) for t in tokens],
        baseline_mib=baseline,
        peak_mib=peak,
        n_params=n_params,
        flops_per_token=flops_per_token(cfg, n_params),
        profile=ops,
        note=note,
    )


def dp_plan(args: argparse.Namespace) -> DPPlan:
    """A plan whose expected batch is args.batch and whose steps cover warmup + steps."""
    from strongroom.privacy.plan import PrivacyParams, make_plan

    steps_per_epoch = -(-args.units // args.batch)  # 1 / q
    epochs = (args.warmup + args.steps + 2) / steps_per_epoch  # plan.steps > the steps run
    delta = min(1e-5, 0.5 / args.units)
    params = PrivacyParams(target_epsilon=8.0, delta=delta, batch_size=args.batch, epochs=epochs)
    return make_plan(params, units=args.units, privacy_unit="person")


def dp_run(
    tokens: np.ndarray,
    cfg: GemmaConfig,
    plan: DPPlan,
    args: argparse.Namespace,
    max_steps: int,
    on_step: Callable[[int], None] | None = None,
) -> TrainResult:
    from strongroom.training.dp_sgd import TrainSettings, train_dp

    cuda = args.device == "cuda"
    book_keeping = args.clipping == "book_keeping"
    settings = TrainSettings(
        seed=args.seed,
        clipping=args.clipping,
        # bf16 autocast as the non-DP side has on CUDA; ghost clipping can only run float32
        mixed_precision="bf16" if cuda and book_keeping else "off",
        physical_batch_size=args.physical,
        device=args.device,
        max_steps=max_steps,  # at least 1: max_steps=0 would mean "no limit" to train_dp
        epsilon_every=10**9,  # no accountant call in the loop but the one at the last step
    )
    return train_dp(tokens, cfg, plan, settings, progress=False, on_step=on_step)


def step_clock(device: torch.device) -> tuple[list[float], Callable[[int], None]]:
    """Times at which train_dp's steps end (its on_step hook), after a device sync."""
    ends: list[float] = []

    def on_step(step: int) -> None:
        synchronize(device)
        ends.append(time.perf_counter())

    return ends, on_step


def release(device: torch.device) -> None:
    """Free what a finished run left (Opacus' hooks hold reference cycles)."""
    import torch

    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def child_dp(args: argparse.Namespace) -> Measurement:
    """DP training: one train_dp run, each step timed from the end of the one before.

    train_dp calls the accountant at its last step (0.2 s and more on CPU), so the run takes
    one step more than warmup + steps, and that last step is not measured.
    """
    from strongroom.corpus.tokenizer import PAD

    cfg, tokens, device, n_params = child_setup(args)
    baseline = memory_baseline(device)
    plan = dp_plan(args)
    ends, on_step = step_clock(device)
    result = dp_run(tokens, cfg, plan, args, args.warmup + args.steps + 1, on_step)
    peak = memory_peak(device)
    per_row = float((tokens[:, 1:] != PAD).sum(1).mean())  # trained tokens a row, on average
    sizes = result.log.batch_sizes  # rows of each step
    measured = range(args.warmup, args.warmup + args.steps)  # 0-based steps; ends[i] ends step i
    record = [[ends[i] - ends[i - 1], sizes[i], round(sizes[i] * per_row)] for i in measured]
    estimate = sum(sizes) * per_row / max(result.tokens, 1) - 1
    note = (
        f"train_dp's own loop time: {result.seconds:.2f} s for {result.steps} steps (warm-up and "
        f"one accountant call included); tokens a step = rows x {per_row:.1f} "
        f"(exact with --units = --batch; over the whole run {100 * estimate:+.2f}%)"
    )
    del result
    release(device)
    ops = profile_ops(lambda: dp_run(tokens, cfg, plan, args, 1), device) if args.profile else {}
    return measurement(record, baseline, peak, cfg, n_params, ops, note)


def child_interleaved(args: argparse.Namespace) -> dict[str, list[list[float]]]:
    """Non-DP and every DP mode in one process, one step each in turn (order rotating by round),
    so that a machine whose speed drifts (other processes) slows them alike.

    DP steps are training/step.py's one_step on parts built by build_parts, the loop train_dp
    runs (without its accountant and checkpoint calls); mode -> [seconds, tokens] a step.
    """
    import torch

    from strongroom.model.gemma import GemmaDecoder, SequenceLoss
    from strongroom.training.dp_sgd import TrainSettings
    from strongroom.training.parts import build_parts
    from strongroom.training.step import one_step

    cfg, tokens, device, _ = child_setup(args)
    data = torch.from_numpy(tokens)  # [units, T]
    plan = dp_plan(args)
    torch.manual_seed(args.seed)
    model = GemmaDecoder(cfg).to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=TrainSettings().learning_rate)
    criterion = SequenceLoss(cfg.pad_id)
    runners: dict[str, Callable[[int], int]] = {
        "base": lambda i: base_step(
            model, optimizer, criterion, data[(i * args.batch + torch.arange(args.batch)) % len(data)],
            args.physical,
        )
    }  # fmt: skip
    for mode in args.clipping:
        settings = TrainSettings(
            seed=args.seed, clipping=mode, physical_batch_size=args.physical, device=args.device,
            mixed_precision="bf16" if device.type == "cuda" and mode == "book_keeping" else "off",
        )  # fmt: skip
        torch.manual_seed(args.seed)
        parts = build_parts(GemmaDecoder(cfg).to(device), tokens, plan, settings)
        parts.model.train()
        runners[mode] = partial(_dp_tokens, parts, plan, settings, one_step)
    times: dict[str, list[list[float]]] = {name: [] for name in runners}
    names = list(runners)
    for index in range(args.warmup + args.steps):
        order = names[index % len(names) :] + names[: index % len(names)]
        for name in order:
            synchronize(device)
            started = time.perf_counter()
            trained = runners[name](index)
            synchronize(device)
            if index >= args.warmup:
                times[name].append([time.perf_counter() - started, trained])
    return times


def _dp_tokens(parts: Any, plan: DPPlan, settings: Any, one_step: Any, index: int) -> int:
    return one_step(parts, plan, settings).tokens


def child_probe(device: str, threads: int | None) -> dict[str, Any]:
    import torch

    if threads:
        torch.set_num_threads(threads)
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("dp_overhead: --device cuda but torch.cuda.is_available() is False")
    name = torch.cuda.get_device_name() if device == "cuda" else "cpu"
    return {"device": device, "name": name, "threads": torch.get_num_threads()}


# --- parent ---------------------------------------------------------------------------------------


def run_child(args: list[str]) -> dict[str, Any]:
    """Run this script as a child with `args` (its stderr passes through); its JSON line."""
    command = [sys.executable, str(SCRIPT), *args]
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = done.stdout[-3000:]
        raise ChildFailed(
            f"`{' '.join(command)}` exited {done.returncode} (its errors above)\n{tail}"
        )
    return json.loads(lines[-1])


def child_args(args: argparse.Namespace, mode: str) -> list[str]:
    """`mode`: base, or the DP clipping mode (ghost, book_keeping)."""
    names = ("preset", "seq", "batch", "physical", "steps", "warmup", "device", "units", "pad")
    flat = [f"--{name}={getattr(args, name)}" for name in names]
    if mode != "base":
        flat.append(f"--clipping={mode}")
        mode = "dp"
    if args.threads:
        flat.append(f"--threads={args.threads}")
    profile = "--profile" if args.profile else "--no-profile"
    return ["--child", mode, f"--seed={args.seed}", profile, *flat]


def measure(args: argparse.Namespace, mode: str) -> Measurement:
    label = f"DP {mode} (train_dp)" if mode != "base" else "non-DP"
    progress(f"measuring {label} in a fresh process")
    started = time.perf_counter()
    found = Measurement(**run_child(child_args(args, mode)))
    steps = ", ".join(f"{1000 * s:.0f}" for s in found.step_seconds)
    progress(
        f"  {label}: measured steps {steps} ms, peak {found.peak_mib:.0f} MiB "
        f"({time.perf_counter() - started:.0f} s in all)"
    )
    return found


def resolve_defaults(args: argparse.Namespace) -> dict[str, Any]:
    """Fill the device-dependent defaults in place; the probe's answer."""
    progress(f"probing device {args.device}")
    threads = [f"--threads={args.threads}"] if args.threads else []
    probe = run_child(["--child", "probe", f"--device={args.device}", *threads])
    args.device = probe["device"]
    cuda = args.device == "cuda"
    args.batch = args.batch or (64 if cuda else 8)
    args.physical = args.physical or args.batch
    args.steps = args.steps or (10 if cuda else 3)
    args.units = args.units or args.batch
    if args.interleaved is None:
        args.interleaved = not cuda
    return probe


def measure_interleaved(args: argparse.Namespace) -> dict[str, list[list[float]]]:
    progress("measuring every mode in one process, steps in turn")
    flat = child_args(args, "base")
    flat[1] = "interleaved"  # ["--child", mode, ...]
    return run_child([*flat, f"--clipping={','.join(args.clipping)}"])


def interleaved_report(times: dict[str, list[list[float]]]) -> str:
    """Median ms per 1,000 tokens of each mode over the rounds, and the ratios to non-DP; the
    last line's pairs (itime_ratio_<mode>)."""
    medians = {
        name: statistics.median(1e6 * sec / tok for sec, tok in steps if tok)
        for name, steps in times.items()
    }
    lines = [f"-- interleaved in one process ({len(times['base'])} rounds, order rotating):"]
    pairs = []
    for name, median in medians.items():
        ratio = median / medians["base"]
        lines.append(f"{name:<14} median {median:9.1f} ms/1k_tok  {ratio:.3f}x non-DP")
        if name != "base":
            pairs.append(f"itime_ratio_{SHORT[name]}={ratio:.3f}")
    print("\n".join(lines))
    return " ".join(pairs)


SHORT = {"ghost": "ghost", "book_keeping": "bk"}  # suffixes of the last line's names


def table(base: Measurement, dps: dict[str, Measurement]) -> str:
    header = (
        f"{'mode':<16} {'steps':>5} {'rows/step':>9} {'tok/step':>9} {'ms/step':>9} "
        f"{'median':>9} {'ms/1k_tok':>9} {'tok/s':>9} {'peak_MiB':>9} {'base_MiB':>9} "
        f"{'above_MiB':>9}"
    )
    lines = [header]
    rows = [("non-DP", base)] + [(f"DP {mode}", m) for mode, m in dps.items()]
    for label, m in rows:
        lines.append(
            f"{label:<16} {m.steps:>5} {m.rows / m.steps:>9.2f} {m.tokens / m.steps:>9,.0f} "
            f"{m.ms_per_step:>9.1f} {m.median_ms_per_step:>9.1f} {m.ms_per_1k_tokens:>9.1f} "
            f"{m.tokens_per_s:>9,.0f} "
            f"{m.peak_mib:>9.1f} {m.baseline_mib:>9.1f} {m.above_mib:>9.1f}"
        )
    return "\n".join(lines)


def norm_arithmetic(args: argparse.Namespace) -> str:
    """Per layer shape: how book-keeping clipping gets each person's norm, and what it keeps."""
    from strongroom.model.config import preset
    from strongroom.training.layer_grads import instantiates

    cfg = preset(args.preset)
    positions, width, hidden = args.seq - 1, cfg.d_model, cfg.ffn_hidden
    shapes = {
        "q_proj / o_proj": (width, cfg.n_heads * cfg.head_dim),
        "k_proj / v_proj": (width, cfg.n_kv_heads * cfg.head_dim),
        "gate / up / down": (width, hidden),
        "lm_head": (width, cfg.vocab_size),
    }
    lines = [
        f"book-keeping per layer at T = {positions} positions (T^2 = {positions**2:,}): "
        "instantiate when d_in d_out <= T (d_in + d_out), else ghost norm"
    ]
    for name, (d_in, d_out) in shapes.items():
        way = "instantiate" if instantiates(positions, d_in, d_out) else "ghost norm"
        kept = d_in * d_out if way == "instantiate" else positions * (d_in + d_out)
        lines.append(
            f"  {name:<16} d_in x d_out {d_in} x {d_out} = {d_in * d_out:>9,}: {way}, "
            f"keeps {4 * kept / 1024:,.0f} KiB a person (float32)"
        )
    return "\n".join(lines)


def profile_table(base: Measurement, dp: Measurement, device: str, mode: str) -> str:
    """The DP step's top ops by self time, with the same ops' time in the non-DP step."""
    clock = "self CUDA time" if device == "cuda" else "self CPU time"
    top = sorted(dp.profile.items(), key=lambda item: -item[1][0])[:PROFILE_ROWS]
    lines = [
        f"where the DP {mode} time goes: top {len(top)} ops by {clock}, one profiled DP step (a whole "
        "train_dp(max_steps=1) call) against one non-DP step",
        f"{'op':<52} {'DP_ms':>9} {'calls':>6} {'nonDP_ms':>9} {'calls':>6}",
    ]
    for name, (ms, calls) in top:
        base_ms, base_calls = base.profile.get(name, [0.0, 0.0])
        lines.append(f"{name[:52]:<52} {ms:>9.1f} {calls:>6.0f} {base_ms:>9.1f} {base_calls:>6.0f}")
    dp_total, base_total = (sum(v[0] for v in m.profile.values()) for m in (dp, base))
    lines.append(f"{'all ops':<52} {dp_total:>9.1f} {'':>6} {base_total:>9.1f}")
    return "\n".join(lines)


def mfu(args: argparse.Namespace, m: Measurement) -> float:
    positions_per_s = m.rows * (args.seq - 1) / m.seconds  # padding is computed too
    return m.flops_per_token * positions_per_s / (args.peak_tflops * 1e12)


def goal(ratio: float, bound: float) -> str:
    return "met" if ratio <= bound else "not met"


def report(
    args: argparse.Namespace,
    probe: dict[str, Any],
    base: Measurement,
    dps: dict[str, Measurement],
    interleaved: dict[str, list[list[float]]] | None = None,
) -> None:
    per_step = -(-args.units // args.batch)  # 1 / q
    if per_step == 1:
        sampling = f"rate 1: all {args.units} people every step"
    else:
        expected = args.units / per_step
        sampling = f"Poisson rate 1/{per_step} of {args.units} people, expected {expected:g}"
    print(
        f"DP overhead: preset {args.preset} ({base.n_params:,} parameters), seq {args.seq}, "
        f"logical batch {args.batch} (DP: {sampling}), physical {args.physical}, device "
        f"{args.device} ({probe['name']}, {probe['threads']} CPU threads)"
    )
    print(table(base, dps))
    print(norm_arithmetic(args))
    line = (
        f"preset={args.preset} seq={args.seq} batch={args.batch} device={args.device} "
        f"base_ms_per_step={base.ms_per_step:.1f} base_tokens_per_s={base.tokens_per_s:.0f}"
    )
    if args.peak_tflops:
        line += f" mfu_base={mfu(args, base):.4f}"
    for mode, dp in dps.items():
        line += " " + mode_report(args, mode, base, dp)
    if interleaved:
        line += " " + interleaved_report(interleaved)
    print(line)


def mode_report(args: argparse.Namespace, mode: str, base: Measurement, dp: Measurement) -> str:
    """Print one DP mode's ratios and goals; its name=value pairs (suffixed by the mode)."""
    token_ratio = dp.ms_per_1k_tokens / base.ms_per_1k_tokens
    step_ratio = dp.ms_per_step / base.ms_per_step
    mem_ratio, raw_ratio = dp.above_mib / base.above_mib, dp.peak_mib / base.peak_mib
    median_ratio = dp.median_ms_per_1k_tokens / base.median_ms_per_1k_tokens
    print(f"-- DP {mode} / non-DP")
    print(f"time per 1,000 trained tokens: {token_ratio:.3f}x (the headline)")
    print(f"time per step: {step_ratio:.3f}x (means over the measured steps)")
    print(f"median over steps of time per 1,000 tokens: {median_ratio:.3f}x")
    print(f"peak memory above baseline: {mem_ratio:.3f}x (raw peaks: {raw_ratio:.3f}x)")
    print(f"DP steps timed one by one (TrainSettings.on_step); {dp.note}")
    print(f"goal time <= {TIME_GOAL:.2f}x: {goal(token_ratio, TIME_GOAL)}")
    print(f"goal memory <= {MEMORY_GOAL:.2f}x: {goal(mem_ratio, MEMORY_GOAL)}")
    if token_ratio > TIME_GOAL and dp.profile:
        print(profile_table(base, dp, args.device, mode))
    short = SHORT[mode]
    pairs = {
        "time_ratio": f"{step_ratio:.3f}",
        "token_time_ratio": f"{token_ratio:.3f}",
        "mem_ratio": f"{mem_ratio:.3f}",
        "dp_ms_per_step": f"{dp.ms_per_step:.1f}",
        "mem_ratio_raw": f"{raw_ratio:.3f}",
        "dp_tokens_per_s": f"{dp.tokens_per_s:.0f}",
        "token_time_ratio_median": f"{median_ratio:.3f}",
    }
    if args.peak_tflops:
        pairs["mfu_dp"] = f"{mfu(args, dp):.4f}"
    return " ".join(f"{name}_{short}={value}" for name, value in pairs.items())


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(
            "Time and peak memory of DP-SGD training (train_dp, Opacus ghost clipping) against "
            "plain training of the same model with the same logical batch, each in a fresh "
            "process. Prints a table and, as the last line, name=value pairs."
        ),
        epilog="Exit status: 0 (goals are reported, not enforced), 3 when a child failed.",
    )
    add = parser.add_argument
    add("--preset", default="small", help="model preset (small)")
    add("--seq", type=int, default=1024, help="tokens a row (1024)")
    add("--batch", type=int, help="logical batch (8 on CPU, 64 on CUDA)")
    add("--physical", type=int, help="rows a forward pass, both modes (default: --batch)")
    add("--steps", type=int, help="measured steps (3 on CPU, 10 on CUDA)")
    add("--warmup", type=int, default=1, help="unmeasured steps first, at least 1 (1)")
    add("--device", choices=["auto", "cpu", "cuda"], default="auto", help="(auto)")
    add("--units", type=int, help="people in the DP data (--batch: rate 1, fixed batches)")
    add("--pad", type=float, default=0.05, help="up to this fraction of a row is padding (0.05)")
    add("--seed", type=int, default=0, help="(0)")
    add(
        "--threads", type=int, help="CPU threads a process (torch.set_num_threads; default torch's)"
    )
    add("--peak-tflops", type=float, help="bf16 dense peak of the GPU, for MFU (H100 SXM: 989)")
    add(
        "--clipping",
        default="ghost,book_keeping",
        help="DP clipping modes to measure, comma-separated (ghost,book_keeping); one in a child",
    )
    add("--profile", action=argparse.BooleanOptionalAction, default=True, help="profile a step")
    add(
        "--interleaved",
        action=argparse.BooleanOptionalAction,
        help="also time every mode in one process, steps in turn (default: on CPU)",
    )
    add("--child", choices=["probe", "base", "dp", "interleaved"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.warmup < 1 or (args.steps is not None and args.steps < 1):
        parser.error("--warmup and --steps must be at least 1")
    if args.batch is not None and args.units is not None and args.units < args.batch:
        parser.error("--units must be at least --batch")
    if args.child is None:
        args.clipping = args.clipping.split(",")
        if not args.clipping or set(args.clipping) - set(SHORT):
            parser.error(f"--clipping takes modes from {sorted(SHORT)}")
    elif args.child == "dp" and args.clipping not in SHORT:
        parser.error(f"--clipping takes one of {sorted(SHORT)} in a DP child")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child == "probe":
        print(json.dumps(child_probe(args.device, args.threads)))
        return 0
    if args.child == "interleaved":
        args.clipping = args.clipping.split(",")
        print(json.dumps(child_interleaved(args)))
        return 0
    if args.child in ("base", "dp"):
        measured = child_base(args) if args.child == "base" else child_dp(args)
        print(json.dumps(asdict(measured)))
        return 0
    try:
        probe = resolve_defaults(args)
        base = measure(args, "base")
        dps = {mode: measure(args, mode) for mode in args.clipping}
        interleaved = measure_interleaved(args) if args.interleaved else None
    except ChildFailed as failure:
        print(failure, file=sys.stderr)
        return 3
    report(args, probe, base, dps, interleaved)
    return 0


if __name__ == "__main__":
    sys.exit(main())
