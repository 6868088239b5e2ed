"""Typed configuration loaded from YAML; one validation pass reports every error at once."""

from __future__ import annotations

import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from strongroom.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


def format_validation_error(error: ValidationError) -> list[str]:
    """One line per problem, located by its dotted path in the document."""
    problems = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "(top level)"
        message = item["msg"].removeprefix("Value error, ")
        problems.extend(f"{where}: {line}" for line in message.splitlines())
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


def load_yaml_model(path: str | Path, model: type[M]) -> M:
    """Read a YAML file into a pydantic model; syntax and schema errors name the file."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(str(path), ["file not found"]) from None
    except yaml.YAMLError as error:
        raise ConfigError(str(path), [f"not valid YAML: {error}"]) from None
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
