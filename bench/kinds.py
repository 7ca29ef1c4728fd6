#!/usr/bin/env python
"""Per-cell against column-wise conversion, one field kind at a time.

    python bench/kinds.py              # 200,000 cells a kind, best of 3
    python bench/kinds.py --cells 50000

For each kind, one column of generated, valid cells is converted by ``Plan.convert_cells``
(the per-cell reference) and by ``ColumnarPlan.convert`` (the column-wise engine), alternated,
on SQLite with the test settings (``USE_TZ``, Europe/Paris). The models have no callable
default, whose calls (one per row, the same on both paths) would hide the conversion. Each
path is timed on the whole chunk (``Plan.convert_cells`` against ``ColumnarPlan.convert``)
and on the column's converter alone. Both must give no error; the figures are the best of 3
and their ratios, measured in one run. No database is written.
"""

from __future__ import annotations

import argparse
import datetime
import os
import random
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")


def _cases(count: int) -> list[tuple[str, str, Callable[[int], str], dict[str, Any]]]:
    """(model, field, cell of row i, reading options) for each measured kind."""
    rnd = random.Random(1)
    start = datetime.datetime(2020, 1, 1)

    def moment(_i: int) -> str:
        # Office hours, never at a change of time (which the per-cell path refuses).
        day = datetime.timedelta(
            days=rnd.randrange(3000), seconds=rnd.randrange(8 * 3600, 20 * 3600)
        )
        return (start + day).isoformat(sep=" ")

    def clock(_i: int) -> str:
        return "%02d:%02d:%02d" % (rnd.randrange(24), rnd.randrange(60), rnd.randrange(60))

    def duration(_i: int) -> str:
        return "%d:%02d:%02d" % (rnd.randrange(10), rnd.randrange(60), rnd.randrange(60))

    def ident(_i: int) -> str:
        return str(uuid.UUID(int=rnd.getrandbits(128)))

    def address(_i: int) -> str:
        return "10.%d.%d.%d" % (rnd.randrange(256), rnd.randrange(256), rnd.randrange(256))

    return [
        ("Event", "starts", moment, {}),
        ("Item", "opens", clock, {}),
        ("Event", "duration", duration, {}),
        ("Event", "ref", ident, {}),
        ("Host", "site", lambda i: "https://example%d.com/item/%d" % (i % 100, i), {}),
        ("Host", "address", address, {}),
        ("Host", "slug", lambda i: "item-%d" % i, {}),
        ("Item", "quantity", lambda i: "NA" if i % 10 == 0 else str(i), {"null_values": ("NA",)}),
        (
            "Item",
            "price",
            lambda i: f"{i:,}".replace(",", ".") + ",%02d" % (i % 100),
            {"decimal_separator": ",", "thousands_separator": "."},
        ),
        (
            "Item",
            "active",
            lambda i: ("ja", "nein", "JA")[i % 3],
            {"true_values": ("ja",), "false_values": ("nein",)},
        ),
    ]


def _best(runs: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    """The best time of each run, alternated; a run returns the errors it found."""
    best = dict.fromkeys(runs, float("inf"))
    for _repeat in range(repeat):
        for label, run in runs.items():
            began = time.perf_counter()
            errors = run()
            best[label] = min(best[label], time.perf_counter() - began)
            if errors:
                raise SystemExit("%s: %s" % (label, errors))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()

    import django

    django.setup()
    from bulk_admin.conversion import Plan
    from bulk_admin.conversion.columns import _CellColumn
    from bulk_admin.mapping import build_mapping
    from bulk_admin.reading import ReadingOptions
    from tests.testapp import models

    print("| Kind (field) | chunk, per cell | chunk, column-wise | ratio | column alone, ratio |")
    print("|---|---:|---:|---:|---:|")
    for model_name, name, cell, reading_options in _cases(options.cells):
        model = getattr(models, model_name)
        reading = ReadingOptions(**reading_options) if reading_options else None
        mapping = build_mapping(["c"], model, {"c": name}, require=False)
        plan = Plan(mapping, using="default", reading=reading)
        rows = [(number, [cell(number)]) for number in range(2, options.cells + 2)]
        cells = [values[0] for _number, values in rows]
        vector = plan.columnar.columns[0]
        per_cell = _CellColumn(vector.column)
        best = _best(
            {
                "per cell": lambda p=plan, r=rows: p.convert_cells(r).errors,
                "column-wise": lambda p=plan, r=rows: p.columnar.convert(r).errors,
                "alone, per cell": lambda c=per_cell, v=cells: c.convert(v)[1],
                "alone, column-wise": lambda c=vector, v=cells: c.convert(v)[1],
            },
            options.repeat,
        )
        kind = model._meta.get_field(name).get_internal_type()
        shown = ", ".join("%s=%r" % item for item in reading_options.items())
        label = "%s (%s.%s%s)" % (kind, model_name, name, ", " + shown if shown else "")
        print(
            "| %s | %.3f s | %.3f s | %.1f× | %.1f× |"
            % (
                label,
                best["per cell"],
                best["column-wise"],
                best["per cell"] / best["column-wise"],
                best["alone, per cell"] / best["alone, column-wise"],
            )
        )


if __name__ == "__main__":
    main()
