"""Benchmarks: ratios against anchors measured in the same run (``python -m benchmarks``)."""
