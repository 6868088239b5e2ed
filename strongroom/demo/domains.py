"""The demo's domains: which generator, contract, policy and model name go together."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, kw_only=True)
class Domain:
    """One demo domain: generated records checked by a contract, gated by a policy."""

    contract: str  # built-in contract name
    policy: str  # built-in governance policy name
    model_name: str  # registered model name
    write_records: Callable[..., Path]  # (path, units, *, seed) -> the file written
    records_file: str  # file name under the run directory's records/
    unit_noun: str  # what the units are called in messages ("patients")


def _hospital_records(path: str | Path, units: int, *, seed: int = 0) -> Path:
    from strongroom.demo.hospital import write_demo_records  # Faker and pandas: on use only

    return write_demo_records(path, units, seed=seed)


def _bank_records(path: str | Path, units: int, *, seed: int = 0) -> Path:
    from strongroom.demo.bank import write_bank_records

    return write_bank_records(path, units, seed=seed)


DOMAINS: dict[str, Domain] = {
    "hospital": Domain(
        contract="hospital_encounters",
        policy="hipaa",
        model_name="strongroom-hospital",
        write_records=_hospital_records,
        records_file="encounters.csv",
        unit_noun="patients",
    ),
    "bank": Domain(
        contract="bank_transactions",
        policy="bank",
        model_name="strongroom-bank",
        write_records=_bank_records,
        records_file="transactions.csv",
        unit_noun="customers",
    ),
}
