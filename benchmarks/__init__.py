"""Reproducible benchmarks against the peer tools (`make bench`)."""
