"""Digest building, rendering and delivery channels (built by the digest issue)."""
