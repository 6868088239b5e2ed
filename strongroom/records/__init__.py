"""Records: contracts, demo generation, ingest, validation and de-identification."""
