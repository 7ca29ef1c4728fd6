#!/usr/bin/env python
"""Experiment (not the engine): one streamed COPY straight into the indexed table.

    python bench/prototype_direct_copy.py [ROWS] [--queued] [--fast-limits] [--fast-validators]
                                          [--no-fk-cache] [--no-floor]

bulk_admin's own ``CsvSource`` and ``Plan.convert`` read and convert the rows, unchanged,
but instead of the engine's sink (one COPY per chunk into a staging table, then one
``INSERT … SELECT … ORDER BY key`` once every row is converted) the rows go through ONE
``COPY … FROM STDIN`` into the real table while the file is still being read, so that
Python's conversion (one core) and PostgreSQL's index maintenance (the other core) overlap,
as with ``psql \\copy``. Foreign keys are resolved per chunk on a second connection (a
connection feeding a COPY cannot run queries), through a dict cache that keeps names already
resolved.

A duplicate key would make the COPY fail with a unique violation; the engine would then roll
back and rerun through its staging table to report each row. The benchmark file has none.

``--queued`` uses psycopg's ``QueuedLibpqWriter`` (a thread pushes the data);
``--fast-limits`` replaced ``sources._check_limits``, which read two settings per row (the
engine reads them once per file since commit eddc1a4, so it no longer changes anything);
``--fast-validators`` compiles max_length and min/max value validators to inline
comparisons (Django's validator still raises the message when one fails);
``--no-fk-cache`` queries every chunk's names again; ``--no-floor`` skips the ``\\copy``.

Prints the wall time, the client's CPU and the ratio to a ``psql \\copy`` of the
pre-converted rows measured just before, on the same empty table.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from itertools import islice
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")


def _fast_validators() -> None:
    """Compile each column's validators to inline checks; Django's validator runs only to
    raise its own message when a check fails (or for validators without an inline form)."""
    from django.core import validators as dj

    from bulk_admin.conversion import converters, plan as conversion

    original = conversion.build_converter

    def build_converter(field, base=None):
        if base is not None or field.choices:
            return original(field, base)
        factory = converters._BY_TYPE.get(field.get_internal_type(), converters._generic_converter)
        base = factory(field)
        checks = []
        for validator in field.validators:
            kind = type(validator)
            if kind is dj.MaxLengthValidator and not callable(validator.limit_value):
                limit = validator.limit_value
                checks.append(
                    lambda value, limit=limit, run=validator: len(value) > limit and run(value)
                )
            elif kind is dj.MaxValueValidator and not callable(validator.limit_value):
                limit = validator.limit_value
                checks.append(
                    lambda value, limit=limit, run=validator: value > limit and run(value)
                )
            elif kind is dj.MinValueValidator and not callable(validator.limit_value):
                limit = validator.limit_value
                checks.append(
                    lambda value, limit=limit, run=validator: value < limit and run(value)
                )
            else:
                checks.append(validator)  # called directly, without run_validators' loop
        if not checks:
            return base
        if len(checks) == 1:
            (check,) = checks

            def convert(value):
                result = base(value)
                check(result)
                return result

            return convert

        def convert_all(value):
            result = base(value)
            for check in checks:
                check(result)
            return result

        return convert_all

    conversion.build_converter = build_converter


def main() -> None:
    args = [arg for arg in sys.argv[1:] if not arg.startswith("--")]
    flags = {arg for arg in sys.argv[1:] if arg.startswith("--")}
    rows = int(args[0]) if args else 1_000_000
    path = BENCH_DIR / "data" / f"books_{rows}.csv"
    copy_path = BENCH_DIR / "data" / f"books_{rows}.copy"

    import django

    django.setup()
    from django.db import connection, transaction
    from psycopg.copy import QueuedLibpqWriter

    from bench import benchmark
    from bulk_admin import sources
    from bulk_admin.conf import conf
    from bulk_admin.conversion import Plan
    from bulk_admin.importer import Importer, ImportOptions
    from bulk_admin.sinks.base import _quote
    from bulk_admin.sinks.copy import CopySink

    if "--fast-validators" in flags:
        _fast_validators()

    if "--fast-limits" in flags:
        max_cell = conf.MAX_CELL_SIZE

        def check_limits(row_number, cells, rows_read):
            # MAX_ROWS is 0 (no limit) here; a cell longer than the limit would fail.
            for cell in cells:
                if len(cell) > max_cell:
                    raise AssertionError

        sources._check_limits = check_limits

    with benchmark.connect() as admin:
        floor = None
        if copy_path.exists() and "--no-floor" not in flags:
            benchmark.reset_table(admin)
            started = time.perf_counter()
            subprocess.run(
                [
                    "psql",
                    "-X",
                    "-q",
                    "-h",
                    benchmark.DB["host"],
                    "-U",
                    benchmark.DB["user"],
                    "-d",
                    benchmark.DB["dbname"],
                    "-c",
                    "\\copy %s (%s) FROM '%s'"
                    % (benchmark.BOOK_TABLE, ", ".join(benchmark.COPY_COLUMNS), copy_path),
                ],
                check=True,
            )
            floor = time.perf_counter() - started
            print(f"psql \\copy: {floor:.2f} s", flush=True)
        benchmark.reset_table(admin)

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    server_before = benchmark._backend_cpu(backend) or 0.0
    machine_before = benchmark.machine_cpu()
    lookup = benchmark.connect()  # the second connection, for foreign keys
    cache: dict[str, int] = {}
    started = time.perf_counter()
    cpu = time.process_time()
    importer = Importer(
        benchmark.MODEL, str(path), ImportOptions(mapping=benchmark.MAPPING, sink="copy")
    )
    with importer.open() as source, transaction.atomic():
        plan = Plan(importer.build_mapping(source.headers), using="default")
        relations = plan.relations
        plan.relations = []  # resolved below, on the second connection
        sink = CopySink(plan, keys=[], policy="error", using="default", batch_size=1000)
        sink.begin()  # no keys: the COPY goes straight into the table
        position = relations[0].position
        iterator = source.rows()
        with connection.cursor() as cursor:
            raw = cursor.cursor
            writer = QueuedLibpqWriter(raw) if "--queued" in flags else None
            with raw.copy(sink.copy_sql, writer=writer) as copy:
                while True:
                    chunk_rows = list(islice(iterator, 10_000))
                    if not chunk_rows:
                        break
                    chunk = plan.convert(chunk_rows)
                    names = {values[position] for _row, values in chunk.rows}
                    if "--no-fk-cache" in flags:
                        cache = {}
                    missing = [name for name in names if name not in cache]
                    if missing:
                        cache.update(
                            lookup.execute(
                                "SELECT name, id FROM %s WHERE name = ANY(%%s)"
                                % _quote(connection, benchmark.AUTHOR_TABLE),
                                [missing],
                            ).fetchall()
                        )
                    for _row, values in chunk.rows:
                        values[position] = cache[values[position]]
                    copy.write(sink._lines(chunk.rows))
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    server = (benchmark._backend_cpu(backend) or 0.0) - server_before
    other = benchmark.machine_cpu() - machine_before - cpu - server
    lookup.close()
    with benchmark.connect() as admin:
        count = admin.execute(f"SELECT count(*) FROM {benchmark.BOOK_TABLE}").fetchone()[0]
        checksum = admin.execute(benchmark.CHECKSUM_SQL).fetchone()
        benchmark.reset_table(admin)
    assert count == rows, count
    print(
        f"direct COPY {sorted(flags)}: {seconds:.2f} s, client CPU {cpu:.1f} s, "
        f"server CPU {server:.1f} s, other CPU {other:.1f} s"
        + (f", {seconds / floor:.2f}× \\copy" if floor else "")
        + f"; checksum {checksum}"
    )


if __name__ == "__main__":
    main()
