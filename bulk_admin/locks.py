"""One writer at a time per table for the imports whose counts depend on the keys they saw.

A ``skip`` or ``update`` import through ``bulk_create`` (SQLite, MariaDB/MySQL, or PostgreSQL
when that sink is asked for) checks which keys exist, then writes. Two such imports of one
table running at once would each count from a table the other is changing, and one of them
would end on a key the other took meanwhile. ``import_transaction`` serialises them: it opens
the outermost transaction of the import holding a lock named after the table, so the second
import checks its keys only once the first has committed (or rolled back), and both report
what they really wrote.

The lock, per database:

PostgreSQL
    a transaction-level advisory lock (``pg_try_advisory_xact_lock``), tried again every
    ``_POLL`` seconds; the COPY sink does not need it (``ON CONFLICT`` and ``RETURNING``
    count what the database did).
MariaDB/MySQL
    a named lock (``GET_LOCK``) taken before ``BEGIN`` and released after the
    ``COMMIT``/``ROLLBACK``, on the same connection.
SQLite
    ``BEGIN IMMEDIATE``: the transaction takes the database's write lock before reading,
    waiting up to the lock timeout.

A lock not obtained within ``BULK_ADMIN_LOCK_TIMEOUT`` seconds ends the import with a clear
message, nothing written. ``waiting`` is called while the lock is busy (the job's progress
callback: it shows the wait and may raise to cancel it). Inside a transaction the caller
opened, no lock is taken (the lock must be held up to the outermost COMMIT): a caller that
runs such an import inside its own transaction opens that transaction with
``import_transaction(model, using, lock=True)`` instead of ``transaction.atomic(using)``.
"""

from __future__ import annotations

import contextlib
import time
import zlib
from collections.abc import Callable, Iterator
from typing import Any

from django.db import OperationalError, connections, models, transaction
from django.utils.translation import gettext as _

from bulk_admin.conf import conf
from bulk_admin.exceptions import DatabaseRejected

_POLL = 1.0  # seconds between two tries of a busy lock (MySQL, PostgreSQL)


def lock_name(model: type[models.Model]) -> str:
    """Return the name of the import lock of ``model``'s table (at most 64 characters)."""
    table = model._meta.db_table
    if len(table) > 48:
        table = "%s~%08x" % (table[:39], zlib.crc32(table.encode()))
    return "bulk_admin:%s" % table


def _busy() -> DatabaseRejected:
    return DatabaseRejected(
        _(
            "Another import of this table did not finish within %(seconds)d seconds, so "
            "nothing was written. Run the import again once it is done."
        )
        % {"seconds": conf.LOCK_TIMEOUT}
    )


@contextlib.contextmanager
def import_transaction(
    model: type[models.Model],
    using: str,
    *,
    lock: bool,
    waiting: Callable[[], None] | None = None,
) -> Iterator[None]:
    """Open the import's transaction, holding the table's import lock when ``lock`` is set.

    Used as ``transaction.atomic(using=using)`` is. Raise DatabaseRejected when the lock is
    not obtained within ``BULK_ADMIN_LOCK_TIMEOUT`` seconds; ``waiting`` is called about once
    a second meanwhile (not on SQLite, which waits inside ``BEGIN IMMEDIATE``).
    """
    connection = connections[using]
    vendor = connection.vendor
    if connection.in_atomic_block or not lock:
        with transaction.atomic(using=using):
            yield
    elif vendor == "sqlite":
        with write_transaction(using):  # the write lock is the table's lock too
            yield
    elif vendor == "mysql":
        # Taken before BEGIN, released after COMMIT or ROLLBACK.
        with _named_lock(connection, lock_name(model), waiting), transaction.atomic(using=using):
            yield
    elif vendor == "postgresql":
        with transaction.atomic(using=using):
            _advisory_lock(connection, lock_name(model), waiting)
            yield
    else:
        with transaction.atomic(using=using):
            yield


@contextlib.contextmanager
def write_transaction(using: str) -> Iterator[None]:
    """``transaction.atomic(using)`` for a transaction that writes.

    On SQLite it begins with ``BEGIN IMMEDIATE``, waiting up to the lock timeout for the
    database's write lock: a deferred transaction that has read fails at once ("database is
    locked", in WAL mode) when another connection (a job's heartbeat) committed since its
    first read. Elsewhere, and inside a transaction, it is ``transaction.atomic``.
    """
    connection = connections[using]
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        with transaction.atomic(using=using):
            yield
        return
    with contextlib.ExitStack() as stack:
        with _immediate(connection):  # only the BEGIN waits for the write lock
            stack.enter_context(transaction.atomic(using=using))
        yield


def _wait(deadline: float, waiting: Callable[[], None] | None) -> None:
    if time.monotonic() >= deadline:
        raise _busy()
    if waiting is not None:
        waiting()


@contextlib.contextmanager
def _named_lock(connection: Any, name: str, waiting: Callable[[], None] | None) -> Iterator[None]:
    deadline = time.monotonic() + conf.LOCK_TIMEOUT
    with connection.cursor() as cursor:
        while True:
            cursor.execute("SELECT GET_LOCK(%s, %s)", [name, _POLL])
            if cursor.fetchone()[0] == 1:
                break
            _wait(deadline, waiting)
    try:
        yield
    finally:
        # A connection lost meanwhile has lost its lock with it.
        with contextlib.suppress(Exception), connection.cursor() as cursor:
            cursor.execute("SELECT RELEASE_LOCK(%s)", [name])


def _advisory_lock(connection: Any, name: str, waiting: Callable[[], None] | None) -> None:
    deadline = time.monotonic() + conf.LOCK_TIMEOUT
    # Two 32-bit keys, so that the lock does not collide with an application's bigint ones.
    key = zlib.crc32(name.encode()) - 2**31
    with connection.cursor() as cursor:
        while True:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [0x62756C6B, key])
            if cursor.fetchone()[0]:
                return
            _wait(deadline, waiting)
            time.sleep(_POLL)


@contextlib.contextmanager
def _immediate(connection: Any) -> Iterator[None]:
    """Make the next BEGIN an IMMEDIATE one that waits up to the lock timeout."""
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA busy_timeout")
        saved_timeout = int(cursor.fetchone()[0])
        cursor.execute("PRAGMA busy_timeout = %d" % int(conf.LOCK_TIMEOUT * 1000))
    saved_mode = connection.transaction_mode
    connection.transaction_mode = "IMMEDIATE"
    try:
        yield
    except OperationalError as exc:
        if "locked" in str(exc):
            raise _busy() from exc
        raise
    finally:
        connection.transaction_mode = saved_mode
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA busy_timeout = %d" % saved_timeout)
