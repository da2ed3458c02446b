"""Benchmarks of scriptix-compat against a plain streaming PUT and plain tuspy (run ``bench/run.py``)."""
