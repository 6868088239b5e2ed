"""Set-up of the analysis engines, and the list of every private API the fast engine reads.

``analyzer_engine`` builds Presidio's ``AnalyzerEngine`` on a locally installed spaCy model with
Presidio's predefined recognizers and strongroom's (``deid.recognizers``). The stock engine
(``presidio``) uses it as it is; the fast engine (``fast``) swaps Presidio's PhoneRecognizer for
``phone.CachedPhoneRecognizer`` (same findings, parses cached) and runs the engine's recognizers,
NLP model and context enhancer through ``NoteAnalyzer``.

The fast engine gets its speed from other libraries' internals. ``PRIVATE_APIS`` names each one;
``missing_private_apis`` says which no longer exist (``tests/deid/engine/test_setup.py``), so an
upgrade of presidio-analyzer, phonenumbers, spaCy, thinc or Python's ``re`` that removes one fails
a test instead of a run, and ``engine: presidio`` keeps working meanwhile. The versions read are
pinned in pyproject.toml.
"""

from __future__ import annotations

import importlib
import logging
from functools import lru_cache
from typing import Any

from strongroom.deid.engine.findings import DEFAULT_ENGINE, Engine
from strongroom.deid.spacy_model import DEFAULT_SPACY_MODEL, SPACY_MODEL_ENV, model_name

__all__ = ["DEFAULT_SPACY_MODEL", "PRIVATE_APIS", "analyzer_engine", "missing_private_apis"]


# module or class -> private names the fast engine reads or overrides (and where).
PRIVATE_APIS: dict[str, tuple[str, ...]] = {
    # note_analyzer.py: NER entities and scores as Presidio's NLP engine derives them
    "presidio_analyzer.nlp_engine.SpacyNlpEngine": (
        "_get_entities",
        "_get_scores_for_entities",
        "_get_updated_entities",
    ),
    # note_analyzer.py: the context enhancer's steps, run without its deep copy
    "presidio_analyzer.context_aware_enhancers.LemmaContextAwareEnhancer": (
        "_extract_surrounding_words",
        "_find_supportive_word_in_context",
        "_find_index_of_match_token",
    ),
    # phone.py: libphonenumber's matcher, with its parse-and-verify step cached
    "phonenumbers.phonenumbermatcher": (
        "_INNER_MATCHES",
        "_LEAD_PATTERN",
        "_MATCHING_BRACKETS",
        "_PATTERN",
        "_PUB_PAGES",
        "_SECOND_NUMBER_START_PATTERN",
        "_SLASH_SEPARATED_DATES",
        "_TIME_STAMPS",
        "_TIME_STAMPS_SUFFIX",
        "_UNWANTED_END_CHAR_PATTERN",
        "_contains_only_valid_x_chars",
        "_is_national_prefix_present_if_required",
        "_verify",
    ),
    "phonenumbers.phonenumbermatcher.PhoneNumberMatcher": (
        "_find",
        "_extract_match",
        "_parse_and_verify",
        "_is_invalid_punctuation_symbol",
        "_is_latin_letter",
    ),
    "presidio_analyzer.predefined_recognizers.PhoneRecognizer": ("_get_recognizer_result",),
    # pattern_gates.py: the syntax tree of a regex, from Python's own parser
    "re": ("_parser", "_constants"),
}


def missing_private_apis() -> list[str]:
    """The names of ``PRIVATE_APIS`` that the installed libraries no longer have."""
    missing = []
    for owner, names in PRIVATE_APIS.items():
        target = _resolve(owner)
        missing += [f"{owner}.{name}" for name in names if not hasattr(target, name)]
    return missing


def _resolve(dotted: str) -> Any:
    """A module, or a class inside one ("package.module.Class")."""
    try:
        return importlib.import_module(dotted)
    except ModuleNotFoundError:
        module, _, name = dotted.rpartition(".")
        return getattr(importlib.import_module(module), name)


@lru_cache(maxsize=4)
def analyzer_engine(
    spacy_model: str | None = None,
    *,
    engine: Engine = DEFAULT_ENGINE,
    phone_regions: tuple[str, ...] = (),
) -> Any:
    """A Presidio ``AnalyzerEngine`` on a locally installed spaCy model (never downloaded), with
    Presidio's predefined recognizers and strongroom's; for ``fast``, the cached phone recognizer.
    `phone_regions` (a contract's) are read in their national formats too, beside the regions
    Presidio's phone recognizer knows (US, UK, DE, FE, IL, IN, CA, BR)."""
    import spacy.util
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    from strongroom.deid.recognizers import custom_recognizers

    name = model_name(spacy_model)
    # Presidio logs a line per note at INFO ("Fetching all recognizers"): thousands per run.
    logging.getLogger("presidio-analyzer").setLevel(logging.WARNING)
    if not spacy.util.is_package(name):
        raise RuntimeError(
            f"spaCy model {name!r} is not installed; install it as a package "
            f"(strongroom never downloads models) or set {SPACY_MODEL_ENV}"
        )
    nlp_engine = NlpEngineProvider(
        nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": "en", "model_name": name}],
        }
    ).create_engine()
    registry = RecognizerRegistry()
    registry.load_predefined_recognizers(nlp_engine=nlp_engine)
    _add_phone_regions(registry, phone_regions)
    if engine == "fast":
        _swap_phone_recognizer(registry)
    for recognizer in custom_recognizers():  # MRN, account numbers, ZIP, addresses, ages > 89 ...
        registry.add_recognizer(recognizer)
    return AnalyzerEngine(nlp_engine=nlp_engine, registry=registry, supported_languages=["en"])


def _add_phone_regions(registry: Any, regions: tuple[str, ...]) -> None:
    from presidio_analyzer.predefined_recognizers import PhoneRecognizer

    for i, stock in enumerate(registry.recognizers):
        if type(stock) is PhoneRecognizer and regions:
            known = list(stock.supported_regions)
            registry.recognizers[i] = PhoneRecognizer(
                context=stock.context,
                supported_language=stock.supported_language,
                supported_entity=stock.supported_entities[0],
                supported_regions=known + [r for r in regions if r not in known],
                leniency=stock.leniency,
                name=stock.name,
            )


def _swap_phone_recognizer(registry: Any) -> None:
    from presidio_analyzer.predefined_recognizers import PhoneRecognizer

    from strongroom.deid.engine.phone import CachedPhoneRecognizer

    for i, recognizer in enumerate(registry.recognizers):
        if type(recognizer) is PhoneRecognizer:
            registry.recognizers[i] = CachedPhoneRecognizer.replacing(recognizer)


@lru_cache(maxsize=2)
def note_analyzer(spacy_model: str | None = None, phone_regions: tuple[str, ...] = ()) -> Any:
    """The fast engine for this process: a ``NoteAnalyzer`` over the ``fast`` AnalyzerEngine."""
    from strongroom.deid.engine.note_analyzer import NoteAnalyzer

    return NoteAnalyzer(analyzer_engine(spacy_model, engine="fast", phone_regions=phone_regions))
