"""What the engines return: one finding per detected entity, plain data that crosses processes."""

from __future__ import annotations

from typing import Literal

Finding = tuple[str, int, int, float]  # (entity type, start, end, score)

# "fast": strongroom's batched analyzer (same findings, ten times the speed); "presidio": Presidio's
# own BatchAnalyzerEngine with the same recognizers, the way back when an upgrade breaks "fast".
Engine = Literal["fast", "presidio"]
ENGINES: tuple[Engine, ...] = ("fast", "presidio")
DEFAULT_ENGINE: Engine = "fast"
