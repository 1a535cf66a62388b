"""The benchmark page (pages/benchmark.py): its results and its fp32 / int8 comparison."""
