#!/usr/bin/env python
"""The django-import-export fast path, measured beside import-export's own imports.

    python bench/import_export_speedup.py [--rows 10000] [--repeat 3]

Same file (bench/data/books_<rows>.csv, written by ``python bench/benchmark.py
--generate-only``), same table, same ``ModelResource`` (``import_id_fields = ["isbn"]``, the
author by name through ``ForeignKeyWidget``), three ways, alternating, medians of ``--repeat``
runs, the table emptied before each run:

1. ``resource.import_data(dataset)``: import-export with default settings;
2. the same with the resource's ``use_bulk = True`` (import-export's bulk mode);
3. bulk_admin driven by the same resource:
   ``import_file(model, path, **options_from_resource(resource))`` (COPY on PostgreSQL).

Each run is checked to have created every row. Prints rows/s and the speed-up of 3 over 1
and 2.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))


def resource(bulk: bool):  # type: ignore[no-untyped-def]
    from bench.benchmark import import_export_resource

    instance = import_export_resource()
    if bulk:
        instance._meta.use_bulk = True
    return instance


def run(kind: str, path: Path) -> float:
    import tablib
    from django.db import connection

    from bench.books.models import Book
    from bulk_admin.contrib.import_export import options_from_resource
    from bulk_admin.importer import import_file

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE %s" % Book._meta.db_table)
    started = time.perf_counter()
    if kind == "fast":
        result = import_file(Book, path, **options_from_resource(resource(bulk=False)))
        assert result.committed and not result.invalid, result.errors[:3]
    else:
        with open(path, encoding="utf-8", newline="") as file:
            dataset = tablib.Dataset().load(file.read(), format="csv")
        outcome = resource(bulk=kind == "bulk").import_data(dataset, dry_run=False)
        assert not outcome.has_errors() and not outcome.has_validation_errors()
    seconds = time.perf_counter() - started
    created = Book.objects.count()
    assert created == rows_in(path), (kind, created)
    return seconds


def rows_in(path: Path) -> int:
    with open(path, encoding="utf-8") as file:
        return sum(1 for _line in file) - 1


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    from bench.benchmark import prepare_database

    prepare_database()
    path = BENCH_DIR / "data" / ("books_%d.csv" % args.rows)
    if not path.exists():
        print("Missing %s: run python bench/benchmark.py --generate-only first." % path)
        return 2
    kinds = {
        "default": "django-import-export, default settings",
        "bulk": "django-import-export, use_bulk = True",
        "fast": "bulk_admin from the same resource",
    }
    times: dict[str, list[float]] = {kind: [] for kind in kinds}
    for _round in range(args.repeat):
        for kind in kinds:
            times[kind].append(run(kind, path))
    medians = {kind: statistics.median(values) for kind, values in times.items()}
    rows = rows_in(path)
    print("%-42s %10s %10s %12s" % ("method (%d rows)" % rows, "seconds", "rows/s", "fast path ×"))
    for kind, label in kinds.items():
        print(
            "%-42s %10.2f %10.0f %12.1f"
            % (label, medians[kind], rows / medians[kind], medians[kind] / medians["fast"])
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
