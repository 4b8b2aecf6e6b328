"""Benchmarks of iec-poller (``make bench``); see ``bench/run.py``. Never run by pytest."""
