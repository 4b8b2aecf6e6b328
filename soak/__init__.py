"""``make soak``: the daemon under faults for a fixed number of cycles (see run.py)."""
