"""Stage 4, write: put the converted rows into the table.

``CopySink`` (PostgreSQL) streams rows with ``COPY … FROM STDIN``: straight into the table
when no key is checked, otherwise into a temporary staging table that is then checked for
taken keys in SQL and moved with ``INSERT … SELECT … ORDER BY key`` (``ON CONFLICT DO NOTHING``
or ``DO UPDATE`` as the policy asks). ``BulkCreateSink`` (any database) writes batches with
``bulk_create``. Both run inside the importer's transaction and never drop indexes or
constraints.

The sink contract, called by the importer in this order:

``begin()``
    once, inside the transaction;
``add(chunk, write)``
    for every chunk of valid rows; ``write`` is False when nothing may be written
    (dry run, or invalid rows under all-or-nothing). It may add errors to ``chunk``;
``finish(write)``
    once; returns the errors found only once every row is known (the staging checks);
``commit()``
    once, only when the import writes; moves staged rows into the table.

Counters ``created``, ``updated`` and ``skipped`` are exact after ``finish``, whether the
rows were written or not (a dry run counts what the commit would do).
"""

from __future__ import annotations

from django.db import connections

from bulk_admin.sinks.base import Sink
from bulk_admin.sinks.bulk_create import BulkCreateSink
from bulk_admin.sinks.copy import CopySink
from bulk_admin.sinks.staging import ROW_COLUMN

__all__ = ["ROW_COLUMN", "SINKS", "BulkCreateSink", "CopySink", "Sink", "choose_sink"]

SINKS: dict[str, type[Sink]] = {"copy": CopySink, "bulk_create": BulkCreateSink}


def choose_sink(name: str, using: str) -> type[Sink]:
    """Return the sink class for ``name`` (``auto``, ``copy`` or ``bulk_create``)."""
    from django.utils.translation import gettext as _

    from bulk_admin.exceptions import OptionError

    vendor = connections[using].vendor
    if name in ("auto", "", None):
        name = "copy" if vendor == "postgresql" else "bulk_create"
    if name not in SINKS:
        raise OptionError(
            _("Unknown write method “%(name)s”; use auto, copy or bulk_create.") % {"name": name}
        )
    if name == "copy" and vendor != "postgresql":
        raise OptionError(
            _("COPY needs PostgreSQL; the database “%(alias)s” is %(vendor)s.")
            % {"alias": using, "vendor": vendor}
        )
    return SINKS[name]
