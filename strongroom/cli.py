"""The `strongroom` command line. Every command has --help."""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from pathlib import Path
from typing import Any

from strongroom.demo.domains import DOMAINS
from strongroom.errors import StrongroomError

DEFAULT_CONTRACT = "hospital_encounters"  # what ingest / validate / deidentify read by default
CONTRACT_HELP = f"built-in name or YAML path (default: {DEFAULT_CONTRACT})"
RATES = ("learning_rate", "reference_learning_rate")  # a demo plan's, in the training group
REFERENCE_HELP = (
    "also train the same plan without privacy and record what privacy cost (held-out loss and "
    "perplexity both ways, their ratio; the reference is not DP and never released)"
)


def _check_demo_size(units: int, batch_size: int, *, planned: bool) -> None:
    """Fail before anything is written when training could not start: four stages in, it needs
    2+ training people and no fewer than one batch. The held-out share is drawn per person, so
    the expected count is rounded down."""
    from strongroom.run_record.params import RecordsParams

    eval_fraction = RecordsParams.model_fields["eval_fraction"].default
    training = math.floor(units * (1 - eval_fraction))
    if training < 2 or training < batch_size:
        batch, fix = (
            (f"the planned batch of {batch_size}", "raise --units or give a smaller --batch-size")
            if planned
            else (f"--batch-size {batch_size}", "raise --units or lower --batch-size")
        )
        raise StrongroomError(
            f"--units {units} leaves about {training} people for training (the rest held out "
            f"for evaluation): need at least 2 and at least {batch}; {fix}"
        )


def _demo(args: argparse.Namespace) -> int:
    from strongroom.config import parse_groups
    from strongroom.console import logged_run
    from strongroom.local_run import new_run_dir, run_local, summarize
    from strongroom.planning.demo_plan import DEFAULT_PRESET, DEMO_EPOCHS, demo_rates
    from strongroom.run_record.params import ReleaseParams, RunParams

    domain = DOMAINS[args.domain]
    planned = _demo_plan_kind(args) == "auto"
    if planned:
        chosen = _demo_auto_plan(args)
    else:
        chosen = {"epochs": DEMO_EPOCHS if args.epochs is None else args.epochs,
                  "batch_size": args.batch_size,
                  "preset": DEFAULT_PRESET if args.preset is None else args.preset,
                  **demo_rates(from_public_model=args.init_from is not None)}  # fmt: skip
    if args.learning_rate is not None:
        chosen["learning_rate"] = args.learning_rate
    # Checked before anything is written: every problem with the options at once.
    checked = parse_groups(
        {
            "records": {  # the path is set once the records are written
                "path": "generated",
                "contract": domain.contract,
                "sequences_per_person": args.sequences_per_person,
                "max_seq_len": args.max_seq_len,
            },
            "privacy": {
                "target_epsilon": args.epsilon,
                "epochs": chosen["epochs"],
                **({} if chosen["batch_size"] is None else {"batch_size": chosen["batch_size"]}),
            },
            "training": {
                "model_preset": chosen["preset"],
                **{rate: chosen[rate] for rate in RATES if chosen[rate] is not None},
                "seed": args.seed,
                "reference": args.reference,
                **({} if args.init_from is None else {"init_from": args.init_from}),
            },
        },
        RunParams,
        source="demo",
    )
    privacy, training = checked["privacy"], checked["training"]
    records_group = checked["records"]
    _check_demo_size(args.units, privacy.batch_size, planned=planned)  # type: ignore[attr-defined]
    run_dir = new_run_dir(args.workdir)
    print(
        f"strongroom demo: {args.units} synthetic {domain.unit_noun}, target epsilon {args.epsilon}"
    )
    records = domain.write_records(
        run_dir / "records" / domain.records_file, args.units, seed=args.records_seed
    )
    params = RunParams(
        records=records_group.model_copy(update={"path": str(records)}),
        privacy=privacy,
        training=training,
        release=ReleaseParams(model_name=domain.model_name, policy=domain.policy),
    )
    with logged_run(run_dir, verbose=args.verbose):
        decision = run_local(params, run_dir)
    print("\n" + summarize(decision, run_dir))
    return 0 if decision["passed"] else 3


def _demo_plan_kind(args: argparse.Namespace) -> str:
    """auto (the planner's) unless the plan is given: --plan fixed, any of --preset, --epochs
    and --batch-size, or --init-from (a public model fixes the preset)."""
    given = [name for name in ("preset", "epochs", "batch_size") if getattr(args, name) is not None]
    if args.plan == "auto" and given:
        options = ", ".join("--" + name.replace("_", "-") for name in given)
        raise StrongroomError(
            f"--plan auto chooses the model, batch and passes: leave out {options}"
        )
    if args.plan is not None:
        return args.plan
    return "fixed" if given or args.init_from is not None else "auto"


def _demo_auto_plan(args: argparse.Namespace) -> dict:
    """The planner's model, batch, epochs and Adam rate for the demo, at the default plan's
    compute."""
    from strongroom.planning.demo_plan import demo_plan, demo_rates
    from strongroom.planning.planner import rate_label
    from strongroom.run_record.params import RecordsParams

    fields = RecordsParams.model_fields
    plan = demo_plan(
        args.units,
        epsilon=args.epsilon,
        eval_fraction=fields["eval_fraction"].default,
        canaries=fields["canaries"].default,
        seq_len=args.max_seq_len,
    )
    c = plan.chosen
    print(f"planned: preset {c.preset}, batch {c.batch_size}, {c.steps} steps ({c.epochs:.2f} "
          f"epochs), Adam {rate_label(c)}, predicted held-out loss {c.predicted_loss:.3f}")  # fmt: skip
    # The law plans the DP rate for runs from scratch; a fine-tune keeps the demo's lower rates,
    # and the non-private reference its own (plain Adam's best does not follow DP's).
    rates = demo_rates(from_public_model=args.init_from is not None, planned=c.learning_rate)
    return {"epochs": round(c.epochs, 6), "batch_size": c.batch_size, "preset": c.preset, **rates}


def _run(args: argparse.Namespace) -> int:
    from strongroom.console import logged_run
    from strongroom.local_run import new_run_dir, resume_local, run_local, summarize
    from strongroom.run_dir import check_resumable
    from strongroom.run_record.params import load_params

    if (args.config is None) == (args.resume is None):
        raise StrongroomError("give either CONFIG.yaml (a new run) or --resume RUN_DIR")
    if args.resume is not None and args.reference is not None:
        raise StrongroomError(
            "--resume runs with the run's saved parameters: leave out --reference"
        )
    if args.resume is not None:
        run_dir = Path(args.resume).resolve()
        print(f"resuming {run_dir} ({check_resumable(run_dir).line()})")
        with logged_run(run_dir, verbose=args.verbose):
            decision = resume_local(run_dir)
    else:
        params = load_params(args.config)
        if args.reference is not None:  # the flag overrides the config's training.reference
            training = params.training.model_copy(update={"reference": args.reference})
            params = params.model_copy(update={"training": training})
        run_dir = new_run_dir(args.workdir)
        with logged_run(run_dir, verbose=args.verbose):
            decision = run_local(params, run_dir)
    print("\n" + summarize(decision, run_dir))
    return 0 if decision["passed"] else 3


def _clean(args: argparse.Namespace) -> int:
    from strongroom.run_dir import clean

    run_dir = Path(args.run_dir).resolve()
    removed = clean(run_dir)
    print(f"{run_dir}: removed {', '.join(removed) if removed else 'nothing (already clean)'}")
    print("kept: run.log, state.json, params.json, gate_decision.json, the MLflow store, seal keys")
    return 0


def _compile(args: argparse.Namespace) -> int:
    from strongroom.pipelines.compile import cluster_settings, compile_pipeline

    settings = cluster_settings(args.cluster, image=args.image, train_image=args.train_image)
    print(f"wrote {compile_pipeline(args.out, settings)}")
    return 0


def _submit(args: argparse.Namespace) -> int:
    from strongroom.pipelines.compile import cluster_settings
    from strongroom.run_record.params import load_params
    from strongroom.submit import submit

    submitted = submit(
        load_params(args.config),
        cluster_settings(args.cluster, image=args.image, train_image=args.train_image),
        host=args.host,
        namespace=args.namespace,
        experiment=args.experiment,
        schedule=args.schedule,
        token_file=args.token_file,
    )
    print(f"submitted {submitted.line()} to {args.host}")
    return 0


def _plan(args: argparse.Namespace) -> int:
    from strongroom.config import given_options, parse_model
    from strongroom.privacy.plan import PrivacyParams, make_plan

    if args.fit:
        return _plan_fit(args)
    if args.units is None:
        raise StrongroomError("plan needs --units N")
    if args.compute is None and args.gpu_hours is None:  # sigma for a batch and epochs chosen
        params = parse_model(given_options(args, PrivacyParams), PrivacyParams, source="plan")
        plan = make_plan(params, units=args.units, privacy_unit=args.unit)
        print(json.dumps(plan.to_dict(), indent=2))
        return 0
    return _plan_compute(args)


def _plan_compute(args: argparse.Namespace) -> int:
    """The planner: model, batch and steps for the people, epsilon and compute given."""
    from strongroom.planning import planner
    from strongroom.planning.compute import budget_flops
    from strongroom.planning.law import LAW_FILE, load_law
    from strongroom.privacy.plan import PrivacyParams

    if args.batch_size is not None or args.epochs is not None:
        raise StrongroomError("with a compute budget the planner chooses --batch-size and --epochs")
    defaults = PrivacyParams()
    plan = planner.make_plan(
        epsilon=defaults.target_epsilon if args.target_epsilon is None else args.target_epsilon,
        delta=defaults.delta if args.delta is None else args.delta,
        units=args.units,
        budget_flops=budget_flops(compute=args.compute, gpu_hours=args.gpu_hours, gpu=args.gpu),
        seq_len=args.seq_len,
        law=load_law(args.law or LAW_FILE),
    )
    print(planner.table(plan))
    print("\n" + plan.explanation())
    for warning in plan.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.out:
        clip = defaults.max_grad_norm if args.max_grad_norm is None else args.max_grad_norm
        if not clip > 0:
            raise StrongroomError(f"--max-grad-norm must be positive, got {clip}")
        text = planner.config_text(plan, records_path=args.records, max_grad_norm=clip)
        Path(args.out).write_text(text)
        print(f"wrote {args.out}")
    return 0


def _plan_fit(args: argparse.Namespace) -> int:
    from strongroom.planning.law import LAW_FILE, fit, read_runs

    law = fit(read_runs(args.fit), sources=args.fit)
    path = law.save(args.law or LAW_FILE)
    shown = ", ".join(f"{name} {getattr(law, name):.4g}" for name in ("E", "A", "D", "beta"))
    fitted = law.provenance
    print(f"fitted on {fitted['runs']} runs, {fitted['shapes']} shapes at their best rate "
          f"(rmse {fitted['rmse']}): {shown}")  # fmt: skip
    rule = law.learning_rate
    if rule is None:
        print("one Adam rate in the runs: plans keep TrainSettings' rate")
    else:
        print(f"Adam's rate planned as {rule.coef:.4g} * steps^-{rule.exponent:.3g} within "
              f"[{rule.low:g}, {rule.high:g}]")  # fmt: skip
    print(f"wrote {path}")
    return 0


def _split_ref(ref: str) -> tuple[str, str]:
    name, sep, version = ref.rpartition("/")
    if not sep or not name or not version:
        raise StrongroomError(f"expected MODEL/VERSION, got {ref!r}")
    return name, version


def _pretrain(args: argparse.Namespace) -> int:
    from urllib.parse import urlparse

    from strongroom.offline import enforce_airgap
    from strongroom.pretrain import pretrain

    # Public text comes from installed packages or a local file, never fetched: the one
    # connection allowed is to the MLflow store.
    enforce_airgap(allowed=[host] if (host := urlparse(args.tracking_uri).hostname) else [])
    result = pretrain(
        corpus=args.corpus,
        model_preset=args.preset,
        steps=args.steps,
        batch_size=args.batch_size,
        max_seq_len=args.max_seq_len,
        learning_rate=args.learning_rate,
        tracking_uri=args.tracking_uri,
        model_name=args.model_name or f"strongroom-public-{args.corpus}",
        device=args.device,
    )
    f = result.facts
    print(
        f"registered {result.registered.model_uri}: public corpus {f.corpus} "
        f"({f.package or 'a file'} {f.package_version}, sha256 {f.corpus_sha256[:12]}), "
        f"preset {f.preset}, {f.steps} steps, {f.tokens:,} tokens, {f.seconds:.1f} s"
    )
    print(f"start DP training from it: training.init_from: {result.registered.model_uri}")
    return 0


def _card(args: argparse.Namespace) -> int:
    import mlflow

    from strongroom.tracking.registry import use_store

    name, version = _split_ref(args.ref)
    use_store(args.tracking_uri)
    print(mlflow.MlflowClient().get_model_version(name, version).description)
    return 0


def _gate(args: argparse.Namespace) -> int:
    from strongroom.release import gate_version, withdraw_aliases

    name, version = _split_ref(args.ref)
    decision = gate_version(args.tracking_uri, name, version, args.policy, args.seal_public_key)
    for rule in decision["rules"]:
        print(f"[{'pass' if rule['passed'] else 'FAIL'}] {rule['id']}: {rule['reason']}")
    print(
        f"policy {decision['policy']} v{decision['policy_version']} "
        f"sha256:{decision['policy_sha256'][:12]} ({decision['policy_source']})"
    )
    if decision["passed"]:
        print("PASSED")
        return 0
    withdrawn = withdraw_aliases(args.tracking_uri, name, version, decision)
    print("FAILED" + (f": aliases {', '.join(withdrawn)} removed" if withdrawn else ""))
    return 3


def _approve(args: argparse.Namespace) -> int:
    from strongroom.governance.approval import approve

    name, version = _split_ref(args.ref)
    record = approve(
        args.tracking_uri, name, version, approver=args.approver, approver_key_file=args.key,
        policy=args.policy, seal_public_key_file=args.seal_public_key, reason=args.reason,
    )  # fmt: skip
    print(
        f"{name}/{version} approved by {record['approver']} under policy {record['policy']} "
        f"v{record['policy_version']}: alias production set"
    )
    manifest = _serving_manifest(args, name, version, record["policy"])
    print(f"KServe InferenceService for this version: {manifest} (kubectl apply -f)")
    return 0


def _serving_manifest(args: argparse.Namespace, name: str, version: str, policy: str) -> Path:
    from strongroom.components import BASE_IMAGE
    from strongroom.governance.deploy import inference_service, write_inference_service

    manifest = inference_service(
        name, version, image=args.image or BASE_IMAGE, policy=policy,
        tracking_uri=args.cluster_tracking_uri or args.tracking_uri,
        namespace=args.namespace, allowed_hosts=args.allowed_hosts,
    )  # fmt: skip
    return write_inference_service(manifest, args.manifest_dir)


def _serve(args: argparse.Namespace) -> int:
    from strongroom.governance.approval import split_alias_ref
    from strongroom.governance.deploy import serve

    name, alias = split_alias_ref(args.ref)
    code = serve(
        args.tracking_uri, name, alias, policy=args.policy,
        seal_public_key_file=args.seal_public_key, host=args.host, port=args.port,
        version=args.version, recheck_seconds=args.recheck_every,
    )  # fmt: skip
    return 0 if code == 0 else 1


def _revoke(args: argparse.Namespace) -> int:
    from strongroom.governance.approval import revoke
    from strongroom.identity import current_identity

    name, version = _split_ref(args.ref)
    revoke(args.tracking_uri, name, version, by=current_identity(), reason=args.reason)
    print(f"{name}/{version}: approval revoked, alias production removed")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from strongroom.governance.approval import split_alias_ref, verify

    name, alias = split_alias_ref(args.ref)
    result = verify(
        args.tracking_uri, name, alias, policy=args.policy,
        seal_public_key_file=args.seal_public_key,
    )  # fmt: skip
    for problem in result.problems:
        print(f"PROBLEM: {problem}")
    print(f"{name}@{alias} -> version {result.version or '-'}: {'OK' if result.ok else 'REFUSED'}")
    return 0 if result.ok else 3


def _keygen(args: argparse.Namespace) -> int:
    from strongroom.governance.approval import make_approver_key

    public = make_approver_key(args.key_file)
    print(f"wrote {args.key_file} (keep it; mode 0600) and {public} (for $STRONGROOM_APPROVERS)")
    return 0


def _sweep(args: argparse.Namespace) -> int:
    import os

    from strongroom.console import logged_run
    from strongroom.local_run import new_run_dir
    from strongroom.offline import enforce_airgap
    from strongroom.sweep import run_sweep
    from strongroom.tracking.registry import prepare_store
    from strongroom.tracking.sweep_report import log_sweep, plot, table_text, write_table

    params, epsilons = _sweep_params(args)  # every problem at once, before anything is written
    run_dir = new_run_dir(args.workdir)
    if args.config is None:
        domain = DOMAINS["hospital"]
        path = domain.write_records(run_dir / "records" / domain.records_file, args.units)
        params = params.model_copy(
            update={"records": params.records.model_copy(update={"path": str(path)})}
        )
    enforce_airgap()
    uri = params.release.tracking_uri or os.environ.get(
        "MLFLOW_TRACKING_URI", f"sqlite:///{run_dir / 'mlflow.db'}"
    )
    reference = args.reference or params.training.reference
    with logged_run(run_dir, verbose=args.verbose):
        prepare_store(uri)  # an unusable store fails now, not after the training runs
        sweep = run_sweep(params, epsilons, reference=reference, run_dir=run_dir)
        files = write_table(sweep, run_dir) + plot(sweep, run_dir)
        run_id = log_sweep(uri, sweep, files)
    print("\n" + table_text(sweep))
    print(f"written to {run_dir}: {', '.join(f.name for f in files)}")
    print(f"MLflow run {run_id} (experiment strongroom-sweep) in {uri}")
    return 0


def _sweep_params(args: argparse.Namespace) -> tuple[Any, list[Any]]:
    """The config's parameters (or the demo's generated records) with the options on top, and
    one privacy group per epsilon; ConfigError naming every problem."""
    from strongroom.config import parse_groups
    from strongroom.errors import ConfigError
    from strongroom.run_record.params import RecordsParams, RunParams, load_params
    from strongroom.sweep import parse_epsilons

    if args.config is not None:
        params = load_params(args.config)
    else:  # the path is set once the records are generated in the run directory
        params = RunParams(records=RecordsParams(path="generated", contract="hospital_encounters"))
    given = {
        "privacy": _given({"epochs": args.epochs, "batch_size": args.batch_size}),
        "training": _given({"model_preset": args.preset}),
    }
    groups = {name: {**getattr(params, name).model_dump(), **given[name]} for name in given}
    problems = []
    try:
        params = params.model_copy(update=parse_groups(groups, RunParams, source="sweep"))
    except ConfigError as error:
        problems += error.problems
    epsilons, bad = parse_epsilons(args.epsilons, params.privacy)
    if problems or bad or not epsilons:
        raise ConfigError("sweep", problems + bad + ([] if epsilons or bad else ["no epsilons"]))
    return params, epsilons


def _given(options: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in options.items() if value is not None}


def _audit(args: argparse.Namespace) -> int:
    """The version's sealed audit (measured by the pipeline's audit step; the canaries' secrets
    stay with the corpus, so it is read, not rerun) and whether it contradicts the guarantee."""
    from strongroom.release import checked_facts
    from strongroom.run_record.seal import load_verify_key
    from strongroom.tracking.card import audit_section

    name, version = _split_ref(args.ref)
    key = load_verify_key(args.seal_public_key)
    facts, problems = checked_facts(args.tracking_uri, name, version, key)
    for problem in problems:
        print(f"PROBLEM: {problem}")
    if facts is None:
        return 3
    print(audit_section(facts))
    bound, claimed = facts.audit.epsilon_lower_bound, facts.privacy.epsilon
    if bound is None:
        print("NOT AUDITED: no empirical lower bound was recorded for this version")
        return 3
    if bound > claimed:
        print(
            f"PRIVACY GUARANTEE FALSIFIED: lower bound {bound:.3f} > claimed epsilon {claimed:.3f}"
        )
        return 3
    print(f"audit consistent: lower bound {bound:.3f} <= claimed epsilon {claimed:.3f}")
    return 3 if problems else 0


def _ledger(args: argparse.Namespace) -> int:
    from strongroom.run_record.seal import load_verify_key
    from strongroom.tracking import ledger

    key = load_verify_key(args.seal_public_key) if args.seal_public_key else None
    found = ledger.read(args.tracking_uri, key=key)
    groups: dict[tuple[str, str], list[ledger.LedgerEntry]] = {}
    for entry in found.entries:
        if not args.data or entry.data_sha256.startswith(args.data):
            groups.setdefault((entry.data_sha256, entry.unit), []).append(entry)
    if key is None:
        print("seals not verified: pass --seal-public-key to verify every entry")
    for problem in found.problems:
        print(f"PROBLEM: {problem}")
    if not groups:
        print("the ledger holds no runs" + (f" on data {args.data}" if args.data else ""))
    for (data, unit), same in groups.items():
        total = ledger.cumulative(same)
        print(f"data {data}  unit {unit}  runs {len(same)}")
        for entry in same:
            m = entry.mechanism
            print(
                f"  {entry.model:<32} sigma {m.noise_multiplier:.4f} q {m.sampling_rate:.5f} "
                f"steps {m.steps} delta {m.delta:g} epsilon {m.epsilons().reported:.4f}"
            )
        print(
            f"  cumulative epsilon {total.reported:.4f} at delta {total.delta:g} "
            f"(PRV {total.prv:.4f}, PLD {total.pld:.4f})"
        )
    return 3 if found.problems else 0


def _synthesize(args: argparse.Namespace) -> int:
    from strongroom.synthesis.decoding import Settings
    from strongroom.synthesis.run import Request, summary, synthesize

    report = synthesize(
        Request(
            tracking_uri=args.tracking_uri, ref=args.ref, n=args.n, out=args.out,
            reference=args.reference, seed=args.seed, policy=args.policy,
            seal_public_key_file=args.seal_public_key, guided=not args.free,
            settings=Settings(temperature=args.temperature, top_p=args.top_p),
        )
    )  # fmt: skip
    print(summary(report))
    print(f"wrote {args.out} (+ .metadata.json) and its synthesis report")
    return 0 if report["written"] == args.n else 3


def _stage(args: argparse.Namespace) -> int:
    from strongroom import stages

    out = Path(args.out)
    if args.command == "deidentify":
        result = stages.deidentify_stage(
            args.validated,
            args.contract,
            args.key_file,
            str(out),
            processes=args.processes,
            engine=args.engine,
        )
    else:
        read = {"encoding": args.encoding, "delimiter": args.delimiter, "format": args.format}
        ingest_dir = out if args.command == "ingest" else out / "ingest"
        result = stages.ingest_stage(args.source, args.contract, str(ingest_dir), **read)
    if args.command == "validate":
        result = stages.validate_stage(str(ingest_dir), args.contract, str(out / "validate"))
    print(json.dumps(result, indent=2, default=str))
    return 0


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {number}")
    return number


def _non_negative_int(value: str) -> int:
    number = int(value)
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {number}")
    return number


def _tracking_arg(parser: argparse.ArgumentParser) -> None:
    import os

    parser.add_argument(
        "--tracking-uri",
        default=os.environ.get("MLFLOW_TRACKING_URI"),
        required="MLFLOW_TRACKING_URI" not in os.environ,
        help="MLflow store (default: $MLFLOW_TRACKING_URI)",
    )


def build_parser() -> argparse.ArgumentParser:
    from strongroom.config import add_model_options
    from strongroom.planning.demo_plan import (
        DEMO_EPOCHS,
        DEMO_INIT_LEARNING_RATE,
        DEMO_LEARNING_RATE,
        DEMO_SEQ_LEN,
    )
    from strongroom.privacy.plan import PrivacyParams
    from strongroom.run_record.params import RecordsParams

    parser = argparse.ArgumentParser(prog="strongroom", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="generate records and run the whole pipeline locally")
    demo.add_argument("--domain", choices=sorted(DOMAINS), default="hospital")
    demo.add_argument("--units", type=int, default=2000, help="people (patients, customers)")
    demo.add_argument("--epsilon", type=float, default=4.0, help="target epsilon (per person)")
    fixed = f"the fixed plan's {DEMO_EPOCHS:g} passes, batch {PrivacyParams().batch_size}, 'demo'"
    demo.add_argument(
        "--epochs", type=float, help=f"passes over the people (default: planned; {fixed})"
    )
    demo.add_argument(
        "--batch-size", type=int, help="expected (Poisson) batch of people (default: planned)"
    )
    demo.add_argument("--preset", help="model preset (default: planned)")
    demo.add_argument(
        "--plan",
        choices=("auto", "fixed"),
        help="auto (the default): model, batch, passes and Adam's rate from the planner "
        "(`strongroom plan`) for these people and epsilon, at the fixed plan's compute; fixed: "
        f"{fixed} preset, hand-tuned, which --preset, --epochs, --batch-size or --init-from "
        "also choose",
    )
    demo.add_argument(
        "--seed",
        type=int,
        default=None,
        help="reproducible training for tests and debugging: NOT a DP release, fails every policy",
    )
    demo.add_argument(
        "--reference",
        action=argparse.BooleanOptionalAction,
        default=True,
        help=REFERENCE_HELP + " (default: on; it doubles the training time)",
    )
    demo.add_argument(
        "--learning-rate",
        type=float,
        default=None,
        help="Adam's rate (default: the planner's; the fixed plan's "
        f"{DEMO_LEARNING_RATE:g}, {DEMO_INIT_LEARNING_RATE:g} with --init-from, tuned on "
        "generated records)",
    )
    demo.add_argument(
        "--init-from",
        default=None,
        metavar="MODEL_URI",
        help="start from a public model (`strongroom pretrain`) in $MLFLOW_TRACKING_URI's store: "
        "models:/NAME/VERSION or NAME@ALIAS (default: random initialisation)",
    )
    demo.add_argument(
        "--sequences-per-person",
        type=int,
        default=1,
        help=RecordsParams.model_fields["sequences_per_person"].description + " (default: 1)",
    )
    demo.add_argument(
        "--max-seq-len",
        type=int,
        default=DEMO_SEQ_LEN,
        help=RecordsParams.model_fields["max_seq_len"].description + f" (default: {DEMO_SEQ_LEN})",
    )
    demo.add_argument("--records-seed", type=int, default=0, help="seed of the generated records")
    demo.add_argument("--workdir", default="strongroom-runs", help="parent of the run directory")
    demo.add_argument(
        "--verbose", action="store_true", help="show every task's log (default: <run dir>/run.log)"
    )
    demo.set_defaults(func=_demo)

    run = sub.add_parser("run", help="the whole pipeline on your records (kfp local runner)")
    run.add_argument(
        "config", nargs="?", help="YAML with the pipeline parameters (records, privacy, ...)"
    )
    run.add_argument(
        "--resume",
        metavar="RUN_DIR",
        help="continue a killed or failed run: finished stages are reused, training continues "
        "from its saved state with the same key and budget",
    )
    run.add_argument(
        "--reference",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=REFERENCE_HELP + " (default: the config's training.reference)",
    )
    run.add_argument("--workdir", default="strongroom-runs")
    run.add_argument(
        "--verbose", action="store_true", help="show every task's log (default: <run dir>/run.log)"
    )
    run.set_defaults(func=_run)

    cln = sub.add_parser(
        "clean", help="remove a run's records copies, pipeline artifacts, key and training state"
    )
    cln.add_argument("run_dir", help="a run directory (not running)")
    cln.set_defaults(func=_clean)

    comp = sub.add_parser("compile", help="write the pipeline's IR YAML for Kubeflow")
    comp.add_argument("--out", default="pipeline.yaml")
    comp.add_argument(
        "--cluster", help="YAML with the site's cluster settings (k8s/overlays/*/cluster.yaml)"
    )
    comp.add_argument(
        "--image", default="", help="every task's image, e.g. REGISTRY/strongroom@sha256:..."
    )
    comp.add_argument("--train-image", default="", help="train's image (default: --image)")
    comp.set_defaults(func=_compile)

    sbm = sub.add_parser("submit", help="run the pipeline on Kubeflow Pipelines (kfp.Client)")
    sbm.add_argument("config", help="YAML with the pipeline parameters (what `run` reads)")
    sbm.add_argument("--host", required=True, help="KFP API, e.g. http://ml-pipeline.kubeflow:8888")
    sbm.add_argument("--namespace", help="the profile namespace (multi-user Kubeflow)")
    sbm.add_argument("--experiment", default="strongroom", help="KFP experiment")
    sbm.add_argument("--schedule", help="cron (5 or 6 fields): a recurring run instead of one run")
    sbm.add_argument("--token-file", help="bearer token (default: the pod's ServiceAccount token)")
    sbm.add_argument("--cluster", help="YAML with the site's cluster settings")
    sbm.add_argument("--image", default="", help="every task's image (REF@sha256:...)")
    sbm.add_argument("--train-image", default="", help="train's image (default: --image)")
    sbm.set_defaults(func=_submit)

    plan = sub.add_parser(
        "plan",
        help="DP training plan: noise for a batch and epochs, or (with a compute budget) the "
        "model, batch and steps predicted to learn most",
        epilog="With --compute or --gpu-hours, --epsilon may be up to 1000: the planner answers "
        "above 100, says such a guarantee is meaningless, and writes no config (run refuses it).",
    )
    plan.add_argument("--units", type=int, help="people in the training set")
    plan.add_argument("--unit", default="person", help="what one privacy unit is called")
    add_model_options(plan, PrivacyParams, aliases={"target_epsilon": "--epsilon"})
    plan.add_argument("--compute", type=float, help="training budget in FLOPs (plans the model)")
    plan.add_argument("--gpu-hours", type=float, help="budget in device hours (with --gpu)")
    plan.add_argument("--gpu", choices=("h100", "cpu"), help="device kind of --gpu-hours")
    plan.add_argument("--seq-len", type=int, default=512, help="bytes per person's example")
    plan.add_argument("--out", help="write the chosen plan as a `strongroom run` config (YAML)")
    plan.add_argument(
        "--records", default="EDIT-ME/records.csv", help="records.path written into --out"
    )
    plan.add_argument(
        "--fit", nargs="+", metavar="RUNS", help="refit the loss law from sweep JSON lines"
    )
    plan.add_argument("--law", help="loss law JSON to read / write (default: the packaged one)")
    plan.set_defaults(func=_plan)

    pre = sub.add_parser(
        "pretrain",
        help="train a non-private starting model on public text only and register it "
        "(for training.init_from)",
    )
    pre.add_argument(
        "--corpus",
        required=True,
        help="icd10cm (ICD-10-CM code descriptions, simple-icd-10-cm), mcc (ISO 18245 merchant "
        "categories, iso18245), or a UTF-8 text file you declare public (no record in it)",
    )
    pre.add_argument("--preset", default="demo", help="model preset (the DP run's)")
    pre.add_argument("--steps", type=int, default=300, help="Adam steps")
    pre.add_argument("--batch-size", type=int, default=32, help="examples per step")
    pre.add_argument("--max-seq-len", type=int, default=512, help="tokens per example")
    pre.add_argument("--learning-rate", type=float, default=2e-3, help="Adam")
    pre.add_argument("--device", default="auto", help="cpu | cuda | auto")
    pre.add_argument(
        "--model-name", default="", help="registered name (default: strongroom-public-CORPUS)"
    )
    _tracking_arg(pre)
    pre.set_defaults(func=_pretrain)

    card = sub.add_parser("card", help="print the model card of a registered version")
    card.add_argument("ref", help="MODEL/VERSION")
    _tracking_arg(card)
    card.set_defaults(func=_card)

    gate = sub.add_parser("gate", help="(re)evaluate a policy on a registered version")
    gate.add_argument("ref", help="MODEL/VERSION")
    gate.add_argument("--policy", default="hipaa", help="built-in name or YAML path")
    gate.add_argument(
        "--seal-public-key",
        default="",
        help="public key of the pipeline's seal (file; or $STRONGROOM_SEAL_PUBLIC_KEY)",
    )
    _tracking_arg(gate)
    gate.set_defaults(func=_gate)

    seal_help = "public key of the pipeline's seal (file; or $STRONGROOM_SEAL_PUBLIC_KEY)"
    policy_help = "the organisation's policy by name ($STRONGROOM_POLICY_DIR or shipped)"
    appr = sub.add_parser("approve", help="second-person approval: alias production")
    appr.add_argument("ref", help="MODEL/VERSION")
    appr.add_argument(
        "--approver", required=True, help="your id (its key in $STRONGROOM_APPROVERS)"
    )
    appr.add_argument("--key", help="your approver key file (or $STRONGROOM_APPROVER_KEY)")
    appr.add_argument("--reason", default="", help="why (recorded, signed)")
    appr.add_argument("--policy", default="hipaa", help=policy_help)
    appr.add_argument("--seal-public-key", default="", help=seal_help)
    appr.add_argument(
        "--manifest-dir",
        default="serving",
        help="where the KServe manifest goes (default: serving)",
    )
    appr.add_argument(
        "--image", default="", help="serving image, REF@sha256:... ($STRONGROOM_IMAGE)"
    )
    appr.add_argument("--namespace", default="strongroom", help="the manifest's namespace")
    appr.add_argument(
        "--cluster-tracking-uri",
        default="",
        help="MLflow as the serving pod sees it (default: --tracking-uri)",
    )
    appr.add_argument(
        "--allowed-hosts", default="", help="the pod's $STRONGROOM_ALLOWED_HOSTS (its MLflow host)"
    )
    _tracking_arg(appr)
    appr.set_defaults(func=_approve)

    rev = sub.add_parser("revoke", help="remove a version's approval and alias production")
    rev.add_argument("ref", help="MODEL/VERSION")
    rev.add_argument("--reason", default="", help="why (recorded)")
    _tracking_arg(rev)
    rev.set_defaults(func=_revoke)

    ver = sub.add_parser("verify", help="may MODEL@ALIAS be served? (run before serving)")
    ver.add_argument("ref", help="MODEL@ALIAS")
    ver.add_argument("--policy", default="hipaa", help=policy_help)
    ver.add_argument("--seal-public-key", default="", help=seal_help)
    _tracking_arg(ver)
    ver.set_defaults(func=_verify)

    srv = sub.add_parser("serve", help="verify MODEL@ALIAS, then serve it (MLflow scoring server)")
    srv.add_argument("ref", help="MODEL@ALIAS")
    srv.add_argument("--version", help="refuse unless the alias points to this version")
    srv.add_argument("--policy", default="hipaa", help=policy_help)
    srv.add_argument("--seal-public-key", default="", help=seal_help)
    srv.add_argument("--host", default="127.0.0.1")
    srv.add_argument("--port", type=int, default=8080)
    srv.add_argument(
        "--recheck-every",
        type=float,
        default=300.0,
        help="seconds between verifications while serving (a failure stops the server); "
        "0: verify once",
    )
    _tracking_arg(srv)
    srv.set_defaults(func=_serve)

    keyg = sub.add_parser("keygen", help="make an approver key pair (private + .pub)")
    keyg.add_argument("key_file", help="where the private key goes (must not exist)")
    keyg.set_defaults(func=_keygen)

    aud = sub.add_parser(
        "audit", help="canaries, one-run lower bound, membership inference of a version"
    )
    aud.add_argument("ref", help="MODEL/VERSION")
    aud.add_argument(
        "--seal-public-key",
        default="",
        help="public key of the pipeline's seal (file; or $STRONGROOM_SEAL_PUBLIC_KEY)",
    )
    _tracking_arg(aud)
    aud.set_defaults(func=_audit)

    swp = sub.add_parser(
        "sweep",
        help="privacy-utility sweep on one corpus: table and plots (nothing is registered)",
        description="DP runs at several target epsilons on one corpus (the config's records, or "
        "--units generated patients), each evaluated and audited as the pipeline does; with "
        "--reference the same plan without privacy. Prints a table, writes it and PNG plots "
        "in the run directory and logs them to MLflow (experiment strongroom-sweep). The "
        "figures together describe the people trained on: see docs/training.md.",
    )
    swp.add_argument("config", nargs="?", help="a `strongroom run` config (default: generated)")
    swp.add_argument(
        "--epsilons", default="1,2,4,8", help="target epsilons, comma separated (default: 1,2,4,8)"
    )
    swp.add_argument(
        "--reference", action="store_true", help=REFERENCE_HELP + " (or training.reference)"
    )
    swp.add_argument("--units", type=int, default=2000, help="generated patients (no config)")
    swp.add_argument("--preset", help="model preset (default: the config's)")
    swp.add_argument("--epochs", type=float, help="passes over the people (default: the config's)")
    swp.add_argument("--batch-size", type=int, help="expected batch (default: the config's)")
    swp.add_argument("--workdir", default="strongroom-runs", help="parent of the run directory")
    swp.add_argument(
        "--verbose", action="store_true", help="show every stage's log (default: <run dir>/run.log)"
    )
    swp.set_defaults(func=_sweep)

    led = sub.add_parser("ledger", help="cumulative epsilon per data set and privacy unit")
    led.add_argument("--data", help="records fingerprint (sha256, or its start); default: all")
    led.add_argument("--seal-public-key", help="verify each entry's seal with this public key")
    _tracking_arg(led)
    led.set_defaults(func=_ledger)

    syn = sub.add_parser("synthesize", help="DP synthetic records from an approved model")
    syn.add_argument("ref", help="MODEL@ALIAS (verified first: production needs the approval)")
    syn.add_argument(
        "--n", type=_positive_int, required=True, help="records that pass the contract"
    )
    syn.add_argument("--out", required=True, help="records file: .parquet or .csv")
    syn.add_argument("--reference", help="held-out de-identified records, for the fidelity report")
    syn.add_argument("--seed", type=int, help="reproducible sampling (tests, debugging)")
    syn.add_argument("--free", action="store_true", help="no format guidance (free sampling)")
    syn.add_argument("--temperature", type=float, default=1.0)
    syn.add_argument("--top-p", type=float, default=1.0)
    syn.add_argument("--policy", default="hipaa", help=policy_help)
    syn.add_argument("--seal-public-key", default="", help=seal_help)
    _tracking_arg(syn)
    syn.set_defaults(func=_synthesize)

    for name, text in (("ingest", "ingest records"), ("validate", "ingest + validate records")):
        stage = sub.add_parser(name, help=text)
        stage.add_argument("source", help="file or folder of parts: local path, s3:// or gs://")
        stage.add_argument("--contract", default=DEFAULT_CONTRACT, help=CONTRACT_HELP)
        stage.add_argument("--out", required=True, help="output directory")
        stage.add_argument("--encoding", default="utf-8", help="text files (CSV, JSON Lines)")
        stage.add_argument("--delimiter", help="CSV field delimiter (default: , or tab for .tsv)")
        stage.add_argument("--format", choices=["csv", "parquet", "jsonl"], help="override")
        stage.set_defaults(func=_stage)
    deid = sub.add_parser("deidentify", help="de-identify a validated.parquet")
    deid.add_argument("validated", help="directory holding validated.parquet")
    deid.add_argument("--contract", default=DEFAULT_CONTRACT, help=CONTRACT_HELP)
    deid.add_argument("--key-file", required=True, help="pseudonymisation key (created if missing)")
    deid.add_argument("--out", required=True)
    deid.add_argument(
        "--processes",
        type=_non_negative_int,
        default=0,
        help="worker processes for free text; 0: as many as the notes repay and the CPUs allow",
    )
    deid.add_argument(
        "--engine",
        choices=["fast", "presidio"],
        default="fast",
        help="free-text analysis: strongroom's batched engine, or stock Presidio (same findings)",
    )
    deid.set_defaults(func=_stage)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("strongroom").setLevel(logging.INFO)  # progress on long stages
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except StrongroomError as error:
        print(f"strongroom: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
