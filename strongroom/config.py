"""Typed configuration loaded from YAML; one validation pass reports every error at once."""

from __future__ import annotations

import os
import stat
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from strongroom.errors import ConfigError, capped, looks_like_name, short_hash

M = TypeVar("M", bound=BaseModel)


def _located(part: object) -> str:
    """One step of a problem's location: a key is named only when it looks like a name, since
    a file that is not a contract (records, /etc/passwd) puts its content in the keys."""
    if not isinstance(part, str) or looks_like_name(part):
        return str(part)
    return f"<key {short_hash(part)}>"


def format_validation_error(error: ValidationError) -> list[str]:
    """One line per problem, located by its dotted path in the document, each line capped."""
    problems = []
    for item in error.errors():
        where = ".".join(_located(part) for part in item["loc"]) or "(top level)"
        message = item["msg"].removeprefix("Value error, ")
        problems.extend(capped(f"{where}: {line}") for line in message.splitlines())
    return problems


def parse_model(data: object, model: type[M], *, source: str) -> M:
    """Validate `data` against `model`, raising ConfigError with every problem found."""
    if not isinstance(data, dict):
        raise ConfigError(
            source, [f"expected a mapping at the top level, got {type(data).__name__}"]
        )
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise ConfigError(source, format_validation_error(error)) from None


MAX_YAML_BYTES = 1 << 20  # contracts and configs are a few KiB; more is not one of them


def _read_config_text(path: Path) -> str:
    """The text of a config file, refused unless it is a regular file of at most MAX_YAML_BYTES.

    Read with a bound, never whole: `--contract /dev/zero` would otherwise read until memory runs
    out, and a records file given by mistake would be parsed and quoted back.
    """
    source = str(path)
    try:
        # O_NONBLOCK: opening a FIFO would otherwise wait for a writer before fstat can refuse it.
        with os.fdopen(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise ConfigError(source, ["not a regular file (a device, pipe or folder?)"])
            data = handle.read(MAX_YAML_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(source, ["file not found"]) from None
    except IsADirectoryError:
        raise ConfigError(source, ["not a regular file (a folder)"]) from None
    except OSError as error:
        raise ConfigError(source, [f"cannot read the file ({type(error).__name__})"]) from None
    if len(data) > MAX_YAML_BYTES:
        raise ConfigError(source, [f"larger than {MAX_YAML_BYTES} bytes: not a config file"])
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(source, [f"not UTF-8 text (byte {error.start})"]) from None


def _yaml_error(error: yaml.YAMLError) -> str:
    """Where the YAML is broken, never what: PyYAML's messages quote the offending text."""
    mark = getattr(error, "problem_mark", None)
    if mark is None:
        return "not valid YAML"
    return f"not valid YAML at line {mark.line + 1}, column {mark.column + 1}"


def load_yaml_model(path: str | Path, model: type[M]) -> M:
    """Read a YAML file into a pydantic model; syntax and schema errors name the file.

    No problem quotes the file: a wrong path (a records file, /etc/passwd) must not be echoed.
    """
    path = Path(path)
    text = _read_config_text(path)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigError(str(path), [_yaml_error(error)]) from None
    if not isinstance(data, dict):
        # Only the type: the value of a scalar document is the whole file.
        raise ConfigError(
            str(path), [f"expected a mapping at the top level, got {type(data).__name__}"]
        )
    return parse_model(data, model, source=str(path))


def parse_groups(
    groups: dict[str, dict[str, object]], model: type[BaseModel], *, source: str
) -> dict[str, BaseModel]:
    """Validate some groups (fields of `model` that are models themselves), every problem of
    every group in one ConfigError."""
    parsed, problems = {}, []
    for name, data in groups.items():
        group_model = model.model_fields[name].annotation
        try:
            parsed[name] = group_model.model_validate(data)  # type: ignore[union-attr]
        except ValidationError as error:
            problems.extend(f"{name}.{line}" for line in format_validation_error(error))
    if problems:
        raise ConfigError(source, problems)
    return parsed


def _option_type(annotation: Any) -> Any:
    """int | None -> int: the value's type; argparse leaves an absent option at None."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
    return annotation


def add_model_options(
    parser: Any, model: type[BaseModel], *, aliases: dict[str, str] | None = None
) -> None:
    """One --option per field of `model` (its description as help, its default shown); the
    model stays the one definition of each option, its validation the one check. `aliases`
    gives a field a second, shorter flag (target_epsilon: --epsilon)."""
    import argparse

    for name, info in model.model_fields.items():
        kind = _option_type(info.annotation)
        flags = [
            f"--{name.replace('_', '-')}",
            *([(aliases or {})[name]] if name in (aliases or {}) else []),
        ]
        help_text = f"{info.description or ''} (default: {info.default})"
        if kind is bool:
            parser.add_argument(
                *flags, dest=name, action=argparse.BooleanOptionalAction, default=None,
                help=help_text,
            )  # fmt: skip
        else:
            parser.add_argument(*flags, dest=name, type=kind, default=None, help=help_text)


def given_options(args: Any, model: type[BaseModel]) -> dict[str, Any]:
    """The options of `model` given on the command line (the model fills in the rest)."""
    return {n: getattr(args, n) for n in model.model_fields if getattr(args, n, None) is not None}
