"""Typed configuration loaded from YAML; one validation pass reports every error at once."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

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
