"""The run record: grouped run parameters, typed stage reports, the facts, the seal, the ledger."""
