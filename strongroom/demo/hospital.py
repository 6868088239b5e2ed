"""Seeded synthetic hospital encounters for the demo and the tests (Faker, no real person)."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
from faker import Faker

from strongroom.records.io import write_table_file

# (ICD-10-CM code, condition, typical medication)
_CONDITIONS = [
    ("E11.9", "type 2 diabetes", "metformin 500 mg"),
    ("I10", "essential hypertension", "lisinopril 10 mg"),
    ("J45.909", "asthma", "albuterol inhaler"),
    ("J18.9", "pneumonia", "amoxicillin 875 mg"),
    ("N39.0", "urinary tract infection", "nitrofurantoin 100 mg"),
    ("I48.91", "atrial fibrillation", "apixaban 5 mg"),
    ("F32.9", "major depressive disorder", "sertraline 50 mg"),
    ("K35.80", "acute appendicitis", "cefoxitin 2 g"),
    ("S72.001A", "fracture of the femoral neck", "oxycodone 5 mg"),
    ("I50.9", "heart failure", "furosemide 40 mg"),
]

_NOTE_TEMPLATES = [
    "{name} (MRN {mrn}) admitted on {admit} with {condition}. Lives in {city}. "
    "Daughter {relative} can be reached at {phone}. Started {medication}.",
    "Pt {last} seen {admit} for {condition}; history of {history}. "
    "Discharged {discharge} to home in {city} on {medication}. Call back: {phone}.",
    "{first} {last}, DOB {dob}, presented to the ED at {hospital} with {condition}. "
    "Husband {relative} at bedside. Follow-up with Dr. {doctor} in two weeks.",
    "Follow-up visit for {condition}. {first} reports improvement on {medication}. "
    "Email on file {email}. Next appointment {discharge}.",
]


def _note(fake: Faker, rng: random.Random, person: dict, enc: dict) -> str:
    template = rng.choice(_NOTE_TEMPLATES)
    history = rng.choice(_CONDITIONS)[1]
    return template.format(
        name=person["name"],
        first=person["name"].split()[0],
        last=person["name"].split()[-1],
        mrn=person["mrn"],
        dob=person["date_of_birth"],
        phone=person["phone"],
        email=person["email"],
        city=fake.city(),
        relative=fake.name(),
        doctor=fake.last_name(),
        hospital=f"{fake.last_name()} General Hospital",
        admit=enc["admit_date"],
        discharge=enc["discharge_date"],
        condition=enc["condition"],
        medication=enc["medication"],
        history=history,
    )


def _person(fake: Faker, rng: random.Random, index: int) -> dict:
    dob = fake.date_of_birth(minimum_age=1, maximum_age=97)
    return {
        "patient_id": f"P{index:07d}",
        "mrn": f"{rng.randrange(10**7, 10**8):08d}",
        "name": f"{fake.first_name()} {fake.last_name()}",
        "date_of_birth": dob,
        "ssn": fake.ssn(),
        "phone": fake.phone_number(),
        "email": fake.email(),
        "zip": fake.zipcode(),
    }


def _age_at(dob: date, day: date) -> int:
    return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))


def generate_encounters(n_patients: int, *, seed: int = 0, max_encounters: int = 5) -> pd.DataFrame:
    """One row per encounter; 1..max_encounters encounters per patient."""
    fake = Faker("en_US")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    rows, encounter_no = [], 0
    for index in range(n_patients):
        person = _person(fake, rng, index)
        for _ in range(rng.randint(1, max_encounters)):
            encounter_no += 1
            code, condition, medication = rng.choice(_CONDITIONS)
            first = max(date(2015, 1, 1), person["date_of_birth"])  # never before birth
            admit = first + timedelta(days=rng.randrange(max((date(2025, 12, 1) - first).days, 1)))
            stay = rng.choice([0, 0, 1, 2, 3, 4, 7, 12])
            enc = {
                "admit_date": admit.isoformat(),
                "discharge_date": (admit + timedelta(days=stay)).isoformat(),
                "condition": condition,
                "medication": medication,
            }
            rows.append(
                {
                    **{k: v for k, v in person.items() if k != "date_of_birth"},
                    "date_of_birth": person["date_of_birth"].isoformat(),
                    "encounter_id": f"E{encounter_no:09d}",
                    "admit_date": enc["admit_date"],
                    "discharge_date": enc["discharge_date"],
                    "age": _age_at(person["date_of_birth"], admit),
                    "sex": rng.choice(["F", "M"]),
                    "diagnosis_code": code,
                    "medication": medication,
                    "length_of_stay": stay,
                    "note": _note(fake, rng, person, enc),
                }
            )
    columns = [
        "patient_id", "mrn", "name", "date_of_birth", "ssn", "phone", "email", "zip",
        "encounter_id", "admit_date", "discharge_date", "age", "sex", "diagnosis_code",
        "medication", "length_of_stay", "note",
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def write_demo_records(path: str | Path, n_patients: int, *, seed: int = 0) -> Path:
    """Write demo encounters as CSV (or Parquet when the suffix says so)."""
    return write_table_file(generate_encounters(n_patients, seed=seed), path)
