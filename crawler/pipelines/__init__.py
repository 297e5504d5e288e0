"""Item pipelines: turn spider items into store records, and store them."""
