"""An MLflow pyfunc around a strongroom checkpoint: portable (state dict + config), generates text."""

from __future__ import annotations

from typing import Any

import mlflow.pyfunc


class DecoderModel(mlflow.pyfunc.PythonModel):
    """Input: a DataFrame with a `prompt` column (or a list of prompts). Output: generated texts."""

    def load_context(self, context: Any) -> None:
        from strongroom.training.dp_sgd import load_checkpoint

        self.model = load_checkpoint(context.artifacts["checkpoint"])

    def predict(
        self, context: Any, model_input: Any, params: dict[str, Any] | None = None
    ) -> list[str]:
        from strongroom.training.evaluate import generate

        params = params or {}
        prompts = (
            list(model_input["prompt"]) if hasattr(model_input, "columns") else list(model_input)
        )
        return [
            generate(
                self.model,
                str(prompt),
                max_new_tokens=int(params.get("max_new_tokens", 200)),
                temperature=float(params.get("temperature", 0.8)),
            )
            for prompt in prompts
        ]
