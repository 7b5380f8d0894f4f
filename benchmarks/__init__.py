"""Benchmarks and the synthetic glossary generator: outside the installed product (run as
``python -m benchmarks …`` from a checkout; see docs/benchmarks.md). Each prints our figures beside
a baseline timed in the same run, because absolute times on a shared machine are noise."""
