"""An MLflow pyfunc around a strongroom checkpoint: portable (state dict + config), generates text.

It imports only strongroom.model and the tokenizer (packaged with the model as its code, see
registry.py), never training code or Opacus, so a reviewer can load it where strongroom is not
installed.
"""

from __future__ import annotations

from typing import Any

import mlflow.pyfunc

# name -> (MLflow type, default): the generation options a caller may pass as params
GENERATION_PARAMS: dict[str, tuple[str, Any]] = {
    "max_new_tokens": ("long", 200),
    "temperature": ("double", 0.8),
    "top_p": ("double", 1.0),
    "seed": ("long", -1),  # -1: a fresh random sample each call
}


class DecoderModel(mlflow.pyfunc.PythonModel):
    """Input: prompts (a one-column DataFrame, or a list of strings). Output: generated texts."""

    def load_context(self, context: Any) -> None:
        from strongroom.model.artifact import load_decoder

        self.model = load_decoder(context.artifacts["checkpoint"])

    def predict(
        self, context: Any, model_input: Any, params: dict[str, Any] | None = None
    ) -> list[str]:
        from strongroom.model.sampling import sample

        given = {name: default for name, (_, default) in GENERATION_PARAMS.items()}
        given.update(params or {})
        seed = int(given["seed"])
        return [
            sample(
                self.model,
                str(prompt),
                max_new_tokens=int(given["max_new_tokens"]),
                temperature=float(given["temperature"]),
                top_p=float(given["top_p"]),
                seed=None if seed < 0 else seed,
            )
            for prompt in _prompts(model_input)
        ]


def _prompts(model_input: Any) -> list[Any]:
    if hasattr(model_input, "columns"):  # a DataFrame: its `prompt` column, else its only one
        column = "prompt" if "prompt" in model_input.columns else model_input.columns[0]
        return list(model_input[column])
    return list(model_input)
