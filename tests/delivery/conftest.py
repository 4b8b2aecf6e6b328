from __future__ import annotations

from ..sinks.conftest import pg_schema
from ..spool.conftest import default_structlog

__all__ = ["default_structlog", "pg_schema"]
