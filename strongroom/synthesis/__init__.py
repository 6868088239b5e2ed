"""Synthetic records from a gated DP model: sample, parse, validate, measure fidelity."""
