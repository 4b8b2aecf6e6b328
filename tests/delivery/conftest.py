from __future__ import annotations

from ..spool.conftest import default_structlog

__all__ = ["default_structlog"]
