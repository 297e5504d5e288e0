"""Where digests go: e-mail (SMTP) and RSS/Atom feed files. A channel only sends."""
