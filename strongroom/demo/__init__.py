"""Synthetic records for the demo and the tests (Faker, no real person): hospital encounters,
bank transactions, and the ``Domain`` that ties each to its contract, policy and model name."""
