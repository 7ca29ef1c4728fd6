"""Project-wide defaults, read from ``BULK_ADMIN_*`` settings when accessed."""

from __future__ import annotations

from typing import Any

from django.conf import settings


class Settings:
    """One property per ``BULK_ADMIN_*`` setting; nothing is cached."""

    def _get(self, name: str, default: Any) -> Any:
        return getattr(settings, "BULK_ADMIN_" + name, default)

    @property
    def CHUNK_SIZE(self) -> int:
        """Rows converted, checked and written together (one FK query per chunk)."""
        return int(self._get("CHUNK_SIZE", 10_000))

    @property
    def BATCH_SIZE(self) -> int:
        """Rows per ``bulk_create`` statement."""
        return int(self._get("BATCH_SIZE", 1_000))

    @property
    def MAX_FILE_SIZE(self) -> int:
        """Largest upload accepted, in bytes (0 = no limit)."""
        return int(self._get("MAX_FILE_SIZE", 512 * 1024 * 1024))

    @property
    def MAX_ROWS(self) -> int:
        """Most data rows read from one file (0 = no limit)."""
        return int(self._get("MAX_ROWS", 0))

    @property
    def MAX_COLUMNS(self) -> int:
        """Most columns accepted in one file."""
        return int(self._get("MAX_COLUMNS", 1_000))

    @property
    def MAX_CELL_SIZE(self) -> int:
        """Longest cell accepted, in characters."""
        return int(self._get("MAX_CELL_SIZE", 16 * 1024 * 1024))

    @property
    def MAX_XLSX_UNCOMPRESSED(self) -> int:
        """Largest total uncompressed size of an XLSX archive, in bytes."""
        return int(self._get("MAX_XLSX_UNCOMPRESSED", 1024 * 1024 * 1024))

    @property
    def MAX_ERRORS(self) -> int:
        """Errors kept in a report (0 = keep all); the counts are always exact."""
        return int(self._get("MAX_ERRORS", 0))

    @property
    def STREAM_COPY(self) -> bool:
        """Write a clean file with one streamed COPY straight into the table (PostgreSQL)."""
        return bool(self._get("STREAM_COPY", True))

    @property
    def PREFETCH_LIMIT(self) -> int:
        """Largest related table whose lookup values are loaded at once for a streamed COPY."""
        return int(self._get("PREFETCH_LIMIT", 100_000))

    @property
    def MAX_STORED_ERRORS(self) -> int:
        """Errors an admin import job keeps for its preview and rejects download."""
        return int(self._get("MAX_STORED_ERRORS", 200_000))

    @property
    def CACHE(self) -> str:
        """Cache alias holding the progress and cancel flag of running admin imports."""
        return str(self._get("CACHE", "default"))

    @property
    def TASK_BACKEND(self) -> str:
        """Task backend alias the admin enqueues validations and commits on."""
        return str(self._get("TASK_BACKEND", "default"))

    @property
    def HEARTBEAT_INTERVAL(self) -> float:
        """Seconds between two heartbeats of a running job (its progress on the job row)."""
        return float(self._get("HEARTBEAT_INTERVAL", 2.0))

    @property
    def HEARTBEAT_TIMEOUT(self) -> float:
        """Seconds without a heartbeat after which a running job counts as failed."""
        return float(self._get("HEARTBEAT_TIMEOUT", 120.0))

    @property
    def LOCK_TIMEOUT(self) -> float:
        """Seconds a skip or update import waits for another one of its table to finish."""
        return float(self._get("LOCK_TIMEOUT", 600.0))

    @property
    def UPLOAD_RETENTION_DAYS(self) -> int:
        """Days an upload is kept after its job was created (0 = for ever)."""
        return int(self._get("UPLOAD_RETENTION_DAYS", 30))

    @property
    def TASK_QUEUE(self) -> str:
        """Queue name of the backend that the admin's checks and imports are enqueued on."""
        return str(self._get("TASK_QUEUE", "default"))

    @property
    def XLSX_MAX_CALAMINE_CELLS(self) -> int:
        """Largest sheet range (rows x columns, estimated) python-calamine may hold in memory."""
        return int(self._get("XLSX_MAX_CALAMINE_CELLS", 8_000_000))

    @property
    def XLSX_READER(self) -> str:
        """``"auto"`` (python-calamine when installed), ``"calamine"`` or ``"openpyxl"``."""
        return str(self._get("XLSX_READER", "auto"))


conf = Settings()
