"""Errors that stop an import before or while it runs.

Problems with single rows are not exceptions: they are ``RowError`` data in the report.
"""

from __future__ import annotations


class BulkAdminError(Exception):
    """Base class: the import cannot run; ``str(error)`` is a message for the user."""


class SourceError(BulkAdminError):
    """The file cannot be read: missing, unsupported, corrupt or over a limit."""


class MappingError(BulkAdminError):
    """The mapping of columns to fields cannot be used."""


class OptionError(BulkAdminError):
    """An option of the import is invalid (unknown policy, key, sink, database...)."""


class DatabaseRejected(BulkAdminError):
    """The database refused the write; the transaction was rolled back."""


class ImportCancelled(BulkAdminError):
    """Raised by a progress callback to stop the import; nothing is written."""
