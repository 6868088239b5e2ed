import sys

from strongroom.records.unit_ids import merged_unit_values, normalize_unit_id

# One patient's identifier as different systems and hands write it: ASCII, Arabic-Indic digits,
# full-width digits, lower case, padded, a zero-width space inside, a byte-order mark at the end.
VARIANTS = [
    "P0000001",
    "P\u0660\u0660\u0660\u0660\u0660\u0660\u0661",
    "P\uff10\uff10\uff10\uff10\uff10\uff10\uff11",
    "p0000001",
    " P0000001 ",
    "P000\u200b0001",
    "P0000001\ufeff",
]


def test_every_spelling_of_one_identifier_normalises_to_one_value():
    assert {normalize_unit_id(v) for v in VARIANTS} == {"p0000001"}


def test_every_invisible_character_and_any_whitespace_is_removed():
    for char in ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\t", "\n", "\u00a0", "\u3000"):
        assert normalize_unit_id(f"P00{char}00001") == "p0000001", hex(ord(char))


def test_digits_of_any_script_become_ascii_digits():
    assert normalize_unit_id("P\u0966\u0967\u0968") == "p012"  # Devanagari
    assert normalize_unit_id("P\u06f7\u0e59") == "p79"  # Extended Arabic-Indic, Thai


def test_different_people_stay_different():
    assert normalize_unit_id("P0000001") != normalize_unit_id("P" + "\u0660" * 6 + "\u0662")
    assert normalize_unit_id("P0000001") != normalize_unit_id("P00000010")


def test_a_case_sensitive_column_keeps_case_but_loses_the_other_variation():
    assert normalize_unit_id("p0000001", case_sensitive=True) == "p0000001"
    assert normalize_unit_id(" P\uff10000\u200b001 ", case_sensitive=True) == "P0000001"
    assert normalize_unit_id("p0000001", case_sensitive=True) != normalize_unit_id(
        "P0000001", case_sensitive=True
    )


def test_normalising_twice_changes_nothing_for_any_character():
    for code in range(sys.maxunicode + 1):
        if 0xD800 <= code <= 0xDFFF:  # surrogates are not characters
            continue
        once = normalize_unit_id(chr(code))
        assert normalize_unit_id(once) == once, hex(code)


def test_merges_count_the_spellings_beyond_the_first_of_each_person():
    assert merged_unit_values(VARIANTS) == 6
    assert merged_unit_values([*VARIANTS, "P0000002", "p0000002", "P0000001", None]) == 7
    assert merged_unit_values(["P0000001", "P0000001", None, None]) == 0  # repeats: one spelling
    assert merged_unit_values(VARIANTS, case_sensitive=True) == 5  # p0000001 is someone else
