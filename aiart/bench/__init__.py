"""Benchmarks behind `python -m aiart bench`: inference, training, concurrent sessions. Top layer: none import it."""
