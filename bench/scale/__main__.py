"""``python -m bench.scale``: one setup from the command line, or ``--child`` (internal)."""

import os

from ._suite import main

if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    raise SystemExit(main())
