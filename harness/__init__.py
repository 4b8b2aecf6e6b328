"""What the tests, the soak and the benchmarks share to run things around the daemon.

Free ports and waiting for a listener (``harness.ports``), child processes that are
killed on purpose and started again, and a private Mosquitto broker
(``harness.processes``). Not part of the product: nothing under ``poller`` imports
it, and the wheel leaves it out; it is importable from the repository's root, as
``tests``, ``soak`` and ``bench`` are. Failures are plain exceptions here; the tests
turn them into a skip or a failure (``tests/services.py``).
"""
