"""Records intake: contracts, readers, sources, formats, expectations, validation, ingest."""
