"""The sink base class and what every sink shares."""

from __future__ import annotations

from typing import Any

from django.core.management.color import no_style
from django.db import connections, models

from bulk_admin.conversion import Chunk, Plan
from bulk_admin.keys import Key
from bulk_admin.results import RowError

_AUTO_FIELDS = (models.AutoField, models.BigAutoField, models.SmallAutoField)


class Sink:
    """Base class of the writers; see the module docstring for the call order."""

    method = ""

    def __init__(
        self,
        plan: Plan,
        *,
        keys: list[Key],
        policy: str,
        using: str,
        batch_size: int,
        skip_invalid: bool = False,
        stream: bool = False,
        scope: Any = None,
        row_permission: Any = None,
    ):
        self.plan = plan
        self.row_permission = row_permission
        # The queryset of rows a skip or update may match (None: the whole table).
        self.scope = scope
        self.stream = stream
        self.model = plan.model
        self.keys = keys
        self.policy = policy
        self.using = using
        self.connection = connections[using]
        self.batch_size = batch_size
        self.skip_invalid = skip_invalid
        self.created = 0
        self.updated = 0
        self.skipped = 0

    def begin(self) -> None:
        """Prepare for writing; called once inside the transaction."""

    def add(self, chunk: Chunk, write: bool) -> None:
        """Take the valid rows of ``chunk``; write them now or stage them."""
        raise NotImplementedError

    def finish(self, write: bool) -> list[RowError]:
        """Return the errors found once all rows are known, and settle the counters."""
        return []

    def commit(self) -> None:
        """Write what is staged; called only when the import writes."""

    def abort(self) -> None:
        """Stop writing after an error, before the transaction rolls back."""

    def reset_sequences(self) -> None:
        """Advance the primary key sequence after explicit keys were written."""
        if not self.plan.writes_primary_key:
            return
        statements = self.connection.ops.sequence_reset_sql(no_style(), [self.model])
        if statements:
            with self.connection.cursor() as cursor:
                for statement in statements:
                    cursor.execute(statement)


def _quote(connection: Any, name: str) -> str:
    return connection.ops.quote_name(name)  # type: ignore[no-any-return]


def _quote_column(connection: Any, field: models.Field) -> str:  # type: ignore[type-arg]
    # Sinks write concrete fields, which all have a column.
    assert field.column is not None
    return _quote(connection, field.column)
