"""Normalizers that turn raw extracted values into the canonical values the store keys on."""
