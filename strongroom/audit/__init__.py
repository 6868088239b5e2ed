"""The privacy audit: evidence that the guarantee held for what ran (one module per measure)."""
