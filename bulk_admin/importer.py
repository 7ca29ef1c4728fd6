"""Run the stages, source → mapping → plan → sink → report, inside one transaction.

This is the Python API used by the admin, the management command and scripts::

    from bulk_admin.importer import import_file

    result = import_file("library.Book", "books.csv", on_conflict="update")
    print(result.created, result.errors)

All-or-nothing by default: if any row is invalid, nothing is written. With
``skip_invalid=True`` the valid rows are written and the rest reported. ``dry_run=True``
runs everything but the write, and its counts equal those of the real run.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import IO, Any

from django.apps import apps
from django.db import (
    DatabaseError,
    DataError,
    IntegrityError,
    connections,
    models,
    router,
    transaction,
)
from django.utils.translation import gettext as _

from bulk_admin import signals
from bulk_admin.conf import conf
from bulk_admin.conversion import Plan
from bulk_admin.exceptions import DatabaseRejected, ImportCancelled, OptionError
from bulk_admin.hints import HintCollector
from bulk_admin.keys import resolve_keys
from bulk_admin.locks import import_transaction
from bulk_admin.mapping import FileMapping, build_mapping, importable_fields
from bulk_admin.reading import ReadingOptions
from bulk_admin.results import FileInfo, ImportResult, RowError
from bulk_admin.sinks import BulkCreateSink, CopySink, choose_sink
from bulk_admin.sources import Row, Source, open_source

ProgressCallback = Callable[["Progress"], None]


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a running import is; passed to the ``progress`` callback after each chunk.

    ``total`` is the number of data rows when known (XLSX), else None; ``stage`` is
    ``"reading"`` while rows are converted and checked, then ``"writing"``; before them,
    ``"waiting"`` while another skip or update import of the table holds its lock.
    """

    rows: int
    invalid: int
    total: int | None
    stage: str
    elapsed: float


@dataclass
class ImportOptions:
    """Everything that decides how a file is imported, apart from the file and model."""

    mapping: Mapping[str, str] | None = None
    on_conflict: str = "error"
    keys: Sequence[str] | None = None
    skip_invalid: bool = False
    dry_run: bool = False
    batch_size: int | None = None
    chunk_size: int | None = None
    sink: str = "auto"
    database: str | None = None
    format: str = "auto"
    encoding: str = "auto"
    delimiter: str = "auto"
    sheet: str | int | None = None
    fields: Sequence[str] | None = None
    exclude: Sequence[str] | None = None
    aliases: Mapping[str, str] | None = None
    fk_lookups: Mapping[str, str] | None = None
    max_errors: int | None = None
    converters: Mapping[str, Callable[[Any], Any]] | None = None
    """``{field name: function}`` replacing the built-in conversion of a non-empty cell.

    The function returns the Python value or raises ``ValidationError``; the field's
    validators and choices still run on its result.
    """
    chunk_hooks: Sequence[Callable[[Any], None]] = ()
    """Functions called with each converted :class:`~bulk_admin.conversion.Chunk`, before it
    is checked and written: the batch replacement for per-row hooks. A hook may change
    ``chunk.rows`` values in place, or move rows out with ``chunk.reject(row, message)``
    (an invalid row) or ``chunk.skip(row)`` (a skipped row); ``chunk.plan.fields`` names
    the values of each row.
    """
    empty_cells: Mapping[str, Callable[[], Any]] | None = None
    """``{field name: function}`` giving the value of an empty cell of that field, in place
    of the field's own rule (NULL, ``""`` or the model default)."""
    null_values: Sequence[str] = ()
    """Cells equal to one of these texts (after trimming) are empty, in every column."""
    date_formats: Sequence[str] = ()
    """``strptime`` formats for date cells, tried after ISO 8601 in place of the language's."""
    datetime_formats: Sequence[str] = ()
    """The same for date-and-time cells."""
    decimal_separator: str | None = None
    """The decimal separator of numbers (``","`` for ``1.234,56``)."""
    thousands_separator: str | None = None
    """The separator grouping digits, removed from numbers (``"."`` for ``1.234,56``)."""
    true_values: Sequence[str] = ()
    """Words read as True, beside true/yes/1/on/x."""
    false_values: Sequence[str] = ()
    """Words read as False, beside false/no/0/off."""
    on_errors: Callable[[list[RowError]], None] | None = None
    """Function called with the errors of each chunk as they are found (in file order, the
    key errors found at the end last), so that a caller can write them out instead of holding
    them: the result keeps at most ``max_errors`` of them."""
    scope: Any = None
    """A queryset of the existing rows ``skip`` and ``update`` may match (the admin's
    ``get_queryset(request)``); a row whose key belongs to a row outside it is invalid.
    None: the whole table."""
    row_permission: Callable[[list[Any]], set[Any]] | None = None
    """A function given existing rows that ``skip`` or ``update`` matched (model instances,
    in batches); it returns the primary keys of those the user may not change, whose file rows
    become invalid (the admin's per-object ``has_change_permission``). Costs one query per
    batch of matched rows plus the function's own work per row."""
    header_hook: Callable[[list[str]], Mapping[str, Any]] | None = None
    """Function called with the file's header once it is read; the options it returns
    replace these for the rest of the import (a mapping and keys that depend on which
    columns the file has, for instance)."""


def get_model(label: str | type[models.Model]) -> type[models.Model]:
    """Return the model for ``app_label.ModelName`` or raise OptionError."""
    if not isinstance(label, str):
        return label
    try:
        return apps.get_model(label)
    except (LookupError, ValueError):
        raise OptionError(
            _("Unknown model “%(model)s”; give it as app_label.ModelName.") % {"model": label}
        ) from None


def _chunks(batches: Iterator[list[Row]], size: int) -> Iterator[list[Row]]:
    """Yield the rows of ``batches`` (a source's lists) in chunks of ``size`` rows."""
    chunk: list[Row] = []
    for batch in batches:
        chunk.extend(batch)
        while len(chunk) >= size:
            yield chunk[:size]
            chunk = chunk[size:]
    if chunk:
        yield chunk


class Importer:
    """Import one file into one model; :meth:`run` returns the :class:`ImportResult`."""

    def __init__(
        self,
        model: str | type[models.Model],
        file: str | os.PathLike[str] | IO[bytes],
        options: ImportOptions | None = None,
        *,
        name: str | None = None,
        progress: ProgressCallback | None = None,
        send_signal: bool = True,
    ):
        self.model = get_model(model)
        # False when the caller sends import_finished itself, after its own transaction.
        self.send_signal = send_signal
        self.file = file
        self.name = name
        self.options = options or ImportOptions()
        self.progress = progress
        self.plan: Plan | None = None
        self.using = self.options.database or router.db_for_write(self.model)
        if self.using not in connections:
            raise OptionError(_("Unknown database “%(alias)s”.") % {"alias": self.using})

    def open(self) -> Source:
        """Open the file as a source with the options' format, encoding, delimiter, sheet."""
        options = self.options
        return open_source(
            self.file,
            name=self.name,
            format=options.format,
            encoding=options.encoding,
            delimiter=options.delimiter,
            sheet=options.sheet,
        )

    def reading_options(self) -> ReadingOptions:
        """Return the options' null markers, formats, separators and words, checked."""
        options = self.options
        return ReadingOptions.from_dict(
            {
                "null_values": options.null_values,
                "date_formats": options.date_formats,
                "datetime_formats": options.datetime_formats,
                "decimal_separator": options.decimal_separator,
                "thousands_separator": options.thousands_separator,
                "true_values": options.true_values,
                "false_values": options.false_values,
            }
        )

    def build_mapping(self, headers: Sequence[str]) -> FileMapping:
        options = self.options
        fields = importable_fields(self.model, options.fields, options.exclude)
        return build_mapping(
            headers,
            self.model,
            options.mapping,
            fields=fields,
            aliases=options.aliases,
            fk_lookups=options.fk_lookups,
        )

    def run(self) -> ImportResult:
        """Read, check and (unless a dry run or invalid rows forbid it) write the file.

        Raise a BulkAdminError subclass when the import cannot run at all; row problems
        are reported in the result.
        """
        options = self.options
        started = time.monotonic()
        sink_class = choose_sink(options.sink, self.using)
        with self.open() as source:
            if options.header_hook is not None:
                changes = dict(options.header_hook(list(source.headers)))
                options = self.options = replace(options, header_hook=None, **changes)
            mapping = self.build_mapping(source.headers)
            plan = Plan(
                mapping,
                using=self.using,
                converters=options.converters,
                empty_cells=options.empty_cells,
                reading=self.reading_options(),
            )
            self.plan = plan
            keys = resolve_keys(plan, options.keys, options.on_conflict)
            outcome = None
            streamed = self._can_stream(sink_class, plan)
            if streamed:
                try:
                    outcome = self._execute(source, plan, keys, sink_class, started, stream=True)
                except _StreamFallback:
                    outcome = None
            if outcome is None:
                if streamed:
                    # The streamed attempt rolled back: read the file again, with every check.
                    with self.open() as again:
                        outcome = self._execute(again, plan, keys, sink_class, started)
                else:
                    outcome = self._execute(source, plan, keys, sink_class, started)
            sink, state, committed = outcome
        total = time.monotonic() - started
        # The counts say what was written: nothing, when invalid rows stopped a real run. A
        # dry run reports what the real run would write.
        written = committed or options.dry_run
        result = ImportResult(
            model=self.model._meta.label,
            dry_run=options.dry_run,
            method=sink.method,
            rows=state.rows,
            created=sink.created if written else 0,
            updated=sink.updated if written else 0,
            skipped=sink.skipped + state.skipped if written else 0,
            invalid=state.invalid,
            errors=sorted(state.errors, key=lambda error: error.sort_key),
            mapping=mapping.as_dict(),
            committed=committed,
            file=source.info,
            errors_truncated=state.truncated,
            hints=state.hints.hints() if state.hints is not None else [],
            reading=plan.reading.as_dict(),
            timings={"total": total, "read": state.read_time, "write": state.write_time},
        )
        if committed and self.send_signal:
            signals.import_finished.send(sender=self.model, result=result, using=self.using)
        return result

    def locks_table(self) -> bool:
        """Return True if this import holds its table's import lock while it writes.

        A ``skip`` or ``update`` import through ``bulk_create`` counts from the keys it
        checked before writing: one such import of a table at a time (bulk_admin.locks).
        """
        options = self.options
        if options.dry_run or options.on_conflict not in ("skip", "update"):
            return False
        return choose_sink(options.sink, self.using) is BulkCreateSink

    def waiting_callback(self) -> Callable[[], None]:
        """Return the callback run while the table's import lock is busy (a progress report)."""
        started = time.monotonic()

        def waiting() -> None:
            if self.progress is not None:
                elapsed = time.monotonic() - started
                self.progress(Progress(0, 0, None, stage="waiting", elapsed=elapsed))

        return waiting

    def _can_stream(self, sink_class: type[Any], plan: Plan) -> bool:
        """Return True if the file may go through one streamed COPY into the table.

        Only a real write with the ``error`` policy (psycopg 3 or psycopg2), with no hook
        that might query while the COPY holds the connection, and foreign keys small enough
        to load at once. Any invalid row or refused key ends the attempt: it rolls back and the
        import runs again through the staging table, which reports every row.
        """
        options = self.options
        if sink_class is not CopySink or not conf.STREAM_COPY:
            return False
        if options.dry_run or options.on_conflict != "error":
            return False
        if options.chunk_hooks or options.converters:
            return False
        return plan.prefetch_relations(conf.PREFETCH_LIMIT)

    def _execute(
        self,
        source: Source,
        plan: Plan,
        keys: list[Any],
        sink_class: type[Any],
        started: float,
        stream: bool = False,
    ) -> tuple[Any, _RunState, bool]:
        options = self.options
        sink = sink_class(
            plan,
            keys=keys,
            policy=options.on_conflict,
            using=self.using,
            batch_size=options.batch_size or conf.BATCH_SIZE,
            skip_invalid=options.skip_invalid,
            stream=stream,
            scope=options.scope,
            row_permission=options.row_permission,
        )
        state = _RunState(
            source.info,
            max_errors=self._max_errors(),
            hints=HintCollector(
                {
                    column.target.path: column.target.lookup or column.target.field
                    for column in plan.mapping.columns
                },
                plan.reading,
            ),
            on_errors=options.on_errors,
        )
        try:
            committed = self._run(source, plan, sink, state, started)
        except DatabaseError as exc:
            if stream and isinstance(exc, (DataError, IntegrityError)) and not state.committing:
                # A value or key the database refused: the staged run reports the row. A
                # lost connection or a failed COMMIT is no reason to import again.
                raise _StreamFallback from exc
            raise DatabaseRejected(
                _("The database refused the import, so nothing was written: %(error)s")
                % {
                    "error": str(exc).strip().splitlines()[0]
                    if str(exc).strip()
                    else exc.__class__.__name__
                }
            ) from exc
        return sink, state, committed

    def _max_errors(self) -> int | None:
        if self.options.max_errors is not None:
            return self.options.max_errors or None
        return conf.MAX_ERRORS or None

    def _run(
        self, source: Source, plan: Plan, sink: Any, state: _RunState, started: float
    ) -> bool:
        options = self.options
        chunk_size = options.chunk_size or conf.CHUNK_SIZE
        with import_transaction(
            self.model,
            self.using,
            lock=self.locks_table(),
            waiting=self.waiting_callback(),
        ):
            sink.begin()
            try:
                for rows in _chunks(source.row_batches(), chunk_size):
                    tick = time.monotonic()
                    chunk = plan.convert(rows)
                    for hook in options.chunk_hooks:
                        hook(chunk)
                    state.skipped += chunk.skipped
                    state.rows += len(rows)
                    state.read_time += time.monotonic() - tick
                    if sink.stream and chunk.invalid and not options.skip_invalid:
                        raise _StreamFallback  # the staged run reports every row
                    tick = time.monotonic()
                    sink.add(chunk, write=self._may_write(state, chunk.invalid))
                    state.write_time += time.monotonic() - tick
                    state.add_errors(chunk.errors, chunk.invalid)
                    if plan.columnar is not None:
                        plan.columnar.release_memory()
                    self._report(state, "reading", started)
                tick = time.monotonic()
                late_errors = sink.finish(write=self._may_write(state, 0))
            except BaseException:
                sink.abort()
                raise
            if late_errors:
                state.add_errors(late_errors, len({error.row for error in late_errors}))
            if self._may_write(state, 0):
                self._report(state, "writing", started)
                sink.commit()
                committed = True
                state.committing = True  # what fails from here on is the COMMIT
            else:
                transaction.set_rollback(True, using=self.using)
                committed = False
            state.write_time += time.monotonic() - tick
        return committed

    def _may_write(self, state: _RunState, new_invalid: int) -> bool:
        if self.options.dry_run:
            return False
        return self.options.skip_invalid or state.invalid + new_invalid == 0

    def _report(self, state: _RunState, stage: str, started: float) -> None:
        if self.progress is None:
            return
        # A callback raises ImportCancelled to stop; the transaction then rolls back.
        self.progress(
            Progress(
                rows=state.rows,
                invalid=state.invalid,
                total=None,
                stage=stage,
                elapsed=time.monotonic() - started,
            )
        )


class _StreamFallback(Exception):
    """Internal: the streamed COPY met an invalid row or a refused key; run staged."""


@dataclass
class _RunState:
    info: FileInfo
    max_errors: int | None
    hints: HintCollector | None = None
    on_errors: Callable[[list[RowError]], None] | None = None
    rows: int = 0
    invalid: int = 0
    skipped: int = 0
    read_time: float = 0.0
    write_time: float = 0.0
    truncated: bool = False
    committing: bool = False
    errors: list[RowError] = field(default_factory=list)

    def add_errors(self, errors: list[RowError], invalid: int) -> None:
        self.invalid += invalid
        if errors:
            if self.hints is not None:
                self.hints.add(errors)
            if self.on_errors is not None:
                self.on_errors(errors)
        if self.max_errors is not None and len(self.errors) + len(errors) > self.max_errors:
            errors = errors[: max(self.max_errors - len(self.errors), 0)]
            self.truncated = True
        self.errors.extend(errors)


def import_file(
    model: str | type[models.Model],
    file: str | os.PathLike[str] | IO[bytes],
    *,
    name: str | None = None,
    progress: ProgressCallback | None = None,
    **options: Any,
) -> ImportResult:
    """Import ``file`` into ``model`` and return the report.

    ``options`` are the fields of :class:`ImportOptions` (``mapping``, ``on_conflict``,
    ``keys``, ``skip_invalid``, ``dry_run``, ``batch_size``, ``sink``, ``database``,
    ``format``, ``encoding``, ``delimiter``, ``sheet``, ...).
    """
    return Importer(model, file, ImportOptions(**options), name=name, progress=progress).run()


__all__ = ["ImportCancelled", "ImportOptions", "Importer", "Progress", "import_file"]
