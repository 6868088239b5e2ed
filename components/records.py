"""Record stages: ingest, validate, deidentify, corpus."""

from kfp import dsl
from kfp.dsl import HTML, Artifact, Dataset, Input, Metrics, Output
from strongroom.components import BASE_IMAGE


@dsl.component(base_image=BASE_IMAGE, install_kfp_package=False)
def ingest_op(records: dict, ingested: Output[Dataset]):
    """Stream CSV / Parquet / JSONL records (local, s3://, gs://) into Parquet; quarantine rows
    that cannot be parsed."""
    from strongroom.run_record.params import RecordsParams
    from strongroom.stages import ingest_stage

    params = RecordsParams.model_validate(records)
    counts = ingest_stage(
        params.path,
        params.contract,
        ingested.path,
        encoding=params.encoding,
        delimiter=params.csv_delimiter,
    )
    ingested.metadata.update(counts)


@dsl.component(base_image=BASE_IMAGE, install_kfp_package=False)
def validate_op(
    ingested: Input[Dataset],
    records: dict,
    validated: Output[Dataset],
    report: Output[HTML],
    summary: Output[Artifact],
    metrics: Output[Metrics],
):
    """Great Expectations suite from the contract; bad rows quarantined; counts only in reports."""
    import shutil
    from pathlib import Path

    from strongroom.components import log_metrics

    from strongroom.lifetime import skip_collection_at_exit
    from strongroom.records.validate import REPORT_HTML, REPORT_JSON
    from strongroom.run_record.params import RecordsParams
    from strongroom.stages import validate_stage

    skip_collection_at_exit()  # a fast exit: lifetime.py

    contract = RecordsParams.model_validate(records).contract
    counts = validate_stage(ingested.path, contract, validated.path)
    shutil.copyfile(Path(validated.path) / REPORT_HTML, report.path)
    shutil.copyfile(Path(validated.path) / REPORT_JSON, summary.path)
    log_metrics(
        metrics, {name: counts[name] for name in ("rows_in", "rows_ok", "rows_quarantined")}
    )
    validated.metadata.update(counts)


@dsl.component(base_image=BASE_IMAGE, install_kfp_package=False)
def deid_shards_op(records: dict) -> list[int]:
    """Make the pseudonymisation key once, before the fan-out; the shard numbers."""
    from strongroom.deid.shards import plan_shards
    from strongroom.run_record.params import RecordsParams

    params = RecordsParams.model_validate(records)
    return plan_shards(params.key_file, params.deid_shards)


@dsl.component(base_image=BASE_IMAGE, install_kfp_package=False)
def deidentify_op(
    validated: Input[Dataset],
    records: dict,
    shard: int,
    deidentified: Output[Dataset],
):
    """One shard: drop / pseudonymise / generalise identifier columns; redact free text."""
    from strongroom.deid.deidentify import HeldOutSplit
    from strongroom.lifetime import skip_collection_at_exit
    from strongroom.run_record.params import RecordsParams
    from strongroom.stages import deidentify_stage

    skip_collection_at_exit()  # a fast exit: lifetime.py

    params = RecordsParams.model_validate(records)
    split = HeldOutSplit(eval_fraction=params.eval_fraction, split_seed=params.split_seed)
    deidentified.metadata.update(
        deidentify_stage(
            validated.path,
            params.contract,
            params.key_file,
            deidentified.path,
            split=split,
            shard=shard,
            engine=params.deid_engine,
            shards=params.deid_shards,
        )
    )


@dsl.component(base_image=BASE_IMAGE, install_kfp_package=False)
def merge_deid_op(parts: Input[list[Dataset]], deidentified: Output[Dataset]):
    """Fan-in: the shards' rows in one table, their counts added up."""
    from strongroom.deid.shards import merge_shards

    report = merge_shards([part.path for part in parts], deidentified.path)
    deidentified.metadata.update({"rows": report.rows, "residual": report.residual_identifiers})


@dsl.component(base_image=BASE_IMAGE, install_kfp_package=False)
def corpus_op(
    deidentified: Input[Dataset],
    records: dict,
    corpus: Output[Dataset],
):
    """One byte-level example per person (up to sequences_per_person sequences), on the side of
    the split de-identification chose; canaries planted for the audit."""
    from strongroom.run_record.params import RecordsParams
    from strongroom.stages import corpus_stage

    params = RecordsParams.model_validate(records)
    corpus.metadata.update(
        corpus_stage(
            deidentified.path,
            params.contract,
            corpus.path,
            max_seq_len=params.max_seq_len,
            canaries=params.canaries,
            sequences_per_person=params.sequences_per_person,
        )
    )
