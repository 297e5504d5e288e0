"""exowatch's control side: configuration, the command line, and (later) the flagger and daemon."""
