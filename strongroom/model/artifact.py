"""Load a saved decoder for serving: the weights and config only, no training code, no Opacus."""

from __future__ import annotations

from pathlib import Path

import torch

from strongroom.model.config import GemmaConfig
from strongroom.model.gemma import GemmaDecoder


def load_decoder(path: str | Path) -> GemmaDecoder:
    """The decoder saved at `path` ({"config", "state_dict"}), in eval mode on the CPU."""
    data = torch.load(path, map_location="cpu", weights_only=True)
    model = GemmaDecoder(GemmaConfig.from_dict(data["config"]))
    model.load_state_dict(data["state_dict"])
    model.eval()
    return model
