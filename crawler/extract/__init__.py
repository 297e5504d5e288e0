"""Pure extractors: bytes or files in, plain records out. No database, no network."""
