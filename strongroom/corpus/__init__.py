"""Corpus: one training example per privacy unit, byte-level tokens, split by unit."""
