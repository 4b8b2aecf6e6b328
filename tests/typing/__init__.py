"""Files checked by mypy (strict), not run: the public API as a user's program types it."""
