"""A Gemma-2-style decoder in plain PyTorch, shaped for Opacus ghost clipping."""
