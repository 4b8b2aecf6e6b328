"""``python -m poller`` runs the ``iec-poller`` command."""

from poller.cli import main

raise SystemExit(main())
