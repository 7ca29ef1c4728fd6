#!/usr/bin/env python
"""Where the client's CPU goes on the COPY path, stage by stage, without a profiler's overhead.

    python bench/stages.py [ROWS [ROUNDS]]   # default: books_200000.csv, 5 rounds

Each stage is run alone over the whole file, in interleaved rounds (5 by default), and the
fastest round's CPU seconds (``time.process_time``) are kept, which a busy machine disturbs
less than wall time (but still: compare figures from one run only):

1. ``csv.reader`` over the file: the floor of reading CSV in Python;
2. bulk_admin's ``CsvSource.rows()`` (encoding detection, blank rows, limits);
3. 2 + ``Plan.convert`` of every chunk without the foreign-key lookups;
4. 3 + the foreign-key lookups (``_resolve_relations``, one query per 900 names);
5. 4 + the COPY text formatting of the sink (``CopySink._lines``), nothing sent;
6. what-if: 5 with foreign keys cached for the whole import (one ``= ANY(%s)`` query for
   the names not seen yet), patched in from here;
7. what-if: 6 with max_length/min/max validators compiled to inline comparisons
   (``prototype_direct_copy._fast_validators``).

Run ``python bench/benchmark.py --generate-only`` first to create the data.
"""

from __future__ import annotations

import csv
import os
import sys
import time
from itertools import islice
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    repeat = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    path = BENCH_DIR / "data" / f"books_{rows}.csv"
    import django

    django.setup()
    from bench.benchmark import MAPPING, MODEL
    from bulk_admin.conf import conf
    from bulk_admin.conversion import Plan
    from bulk_admin.importer import Importer, ImportOptions
    from bulk_admin.sinks import CopySink

    chunk_size = conf.CHUNK_SIZE

    def raw_csv() -> int:
        count = 0
        with open(path, newline="", encoding="utf-8") as file:
            for _cells in csv.reader(file):
                count += 1
        return count - 1

    def chunks(source):
        iterator = source.rows()
        while True:
            chunk = list(islice(iterator, chunk_size))
            if not chunk:
                return
            yield chunk

    def run(convert: bool, relations: bool, lines: bool) -> int:
        importer = Importer(MODEL, str(path), ImportOptions(mapping=MAPPING, sink="copy"))
        count = 0
        with importer.open() as source:
            plan = Plan(importer.build_mapping(source.headers), using="default")
            if not relations:
                plan.relations = []
            sink = CopySink(plan, keys=[], policy="error", using="default", batch_size=1000)
            sink.begin()
            sink.staged = True
            for rows in chunks(source):
                count += len(rows)
                if convert:
                    chunk = plan.convert(rows)
                    if lines:
                        sink._lines(chunk.rows)
        return count

    # Plan looks these names up in its own module.
    from bulk_admin.conversion import plan as conversion

    original_lookup = conversion.lookup_related
    original_build = conversion.build_converter

    def cached_lookups() -> None:
        """What-if: names already resolved are kept for the whole import, and the others
        are fetched with one ``= ANY(%s)`` query (one array parameter, not 900)."""
        from django.db import connections

        cache: dict = {}

        def lookup_related(target, values, using):
            missing = [value for value in values if value not in cache]
            if missing:
                related = target.field.related_model
                key_column = target.field.target_field.column
                with connections[using].cursor() as cursor:
                    cursor.execute(
                        'SELECT "%s", "%s" FROM "%s" WHERE "%s" = ANY(%%s)'
                        % (
                            target.lookup.column,
                            key_column,
                            related._meta.db_table,
                            target.lookup.column,
                        ),
                        [missing],
                    )
                    cache.update(cursor.fetchall())
            return {value: cache[value] for value in values if value in cache}

        conversion.lookup_related = lookup_related

    def restore() -> None:
        conversion.lookup_related = original_lookup
        conversion.build_converter = original_build

    def what_if(patches):
        def go() -> int:
            for patch in patches:
                patch()
            try:
                return run(True, True, True)
            finally:
                restore()

        return go

    from bench.prototype_direct_copy import _fast_validators

    stages = [
        ("csv", "1. csv.reader alone", raw_csv),
        ("source", "2. CsvSource.rows()", lambda: run(False, False, False)),
        ("convert", "3. + Plan.convert (no FK lookups)", lambda: run(True, False, False)),
        ("relations", "4. + FK lookups", lambda: run(True, True, False)),
        ("lines", "5. + COPY text formatting", lambda: run(True, True, True)),
        ("cache", "6. what-if: 5 + FK cache, one = ANY() query", what_if([cached_lookups])),
        (
            "validators",
            "7. what-if: 6 + inline validators",
            what_if([cached_lookups, _fast_validators]),
        ),
    ]
    # Rounds interleave the stages, so that a disturbance hits all of them alike; the
    # fastest round of each stage is kept: the least disturbed.
    results = {key: float("inf") for key, _label, _function in stages}
    count = rows
    for _round in range(repeat):
        for key, _label, function in stages:
            started = time.process_time()
            count = function()
            results[key] = min(results[key], time.process_time() - started)
    for key, label, _function in stages:
        spent = results[key]
        print(f"{label:<52} {spent:7.2f} s CPU  {spent / count * 1e6:6.1f} µs/row")
    print()
    print(f"source overhead over csv.reader   {results['source'] - results['csv']:6.2f} s")
    print(f"conversion and validation          {results['convert'] - results['source']:6.2f} s")
    print(f"foreign keys (client side)         {results['relations'] - results['convert']:6.2f} s")
    print(f"COPY formatting                    {results['lines'] - results['relations']:6.2f} s")
    print(
        f"client CPU for {rows:,} rows, all stages: {results['lines']:.2f} s "
        f"→ {results['lines'] / rows * 1e6:.0f} µs/row, "
        f"{results['lines'] / rows * 1e6:.0f} s per million rows"
    )
    print(f"what-if FK cache saves             {results['lines'] - results['cache']:6.2f} s")
    print(f"what-if inline validators save     {results['cache'] - results['validators']:6.2f} s")


if __name__ == "__main__":
    main()
