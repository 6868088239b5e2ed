"""De-identification: column treatments and keys (``deidentify``), a record's own values in its
text (``record_values``, ``near_miss``), recognizers, redaction, shards; the analysis engine
behind one entry point in ``engine``."""
