"""Hostile files never crash or kill the process (issue 12).

Every input runs through ``manage.py bulk_import`` in a worker process (tests/fuzz/worker.py),
so an abort of a native reader fails one test instead of the test run. A short seeded
campaign runs on every leg; ``bash scripts/fuzz.sh`` runs a long one
(``BULK_ADMIN_FUZZ_EXAMPLES`` inputs, ``BULK_ADMIN_FUZZ_SEED``). The inputs found by earlier
campaigns stay below as regression tests, each with the file written by a short generator.
"""

import os

import pytest
from hypothesis import HealthCheck, given, seed, settings

from tests.fuzz.strategies import inputs
from tests.fuzz.worker import Worker
from tests.fuzz.xlsx import Cell, workbook_bytes

EXAMPLES = int(os.environ.get("BULK_ADMIN_FUZZ_EXAMPLES", "150"))
SEED = int(os.environ.get("BULK_ADMIN_FUZZ_SEED", "20261201"))
# Bounds of one input of a few kilobytes; far above what a sound import of it needs.
MAX_SECONDS = 20
MAX_PEAK_MB = 1500


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker):
    from django.db import connection

    from tests.testapp.models import Author, Book, Event

    worker = Worker(
        {"BULK_ADMIN_WORKER_DB_NAME": str(connection.settings_dict["NAME"])}, timeout=60
    )
    worker.start()
    yield worker
    worker.stop()
    with django_db_blocker.unblock():
        Book.objects.all().delete()
        Event.objects.all().delete()
        Author.objects.all().delete()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    counter = iter(range(10**9))

    def write(data, suffix):
        path = folder / ("input-%d.%s" % (next(counter), suffix))
        path.write_bytes(data)
        return str(path)

    return write


def check(answer, args):
    """What must hold for any input: a clean exit, bounded costs, the table unchanged."""
    assert not answer.get("crash"), "the worker died (exit %s) on %s: %s" % (
        answer.get("crash"),
        args,
        answer.get("stderr", "")[:1500],
    )
    assert not answer.get("hang"), "the import did not end: %s" % args
    assert answer["code"] in (0, 1, 2), answer
    stderr = answer["stderr"]
    assert "Traceback" not in stderr, stderr
    assert "unexpected error" not in stderr, stderr
    if answer["code"] == 2:
        lines = stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("CommandError: "), stderr
    if answer["code"] in (0, 1):
        assert answer["json"], answer
    if answer["code"] in (1, 2):
        assert answer["unchanged"], "exit %s changed the table" % answer["code"]
    assert answer["seconds"] < MAX_SECONDS, (answer, args)
    assert answer["peak_mb"] < MAX_PEAK_MB, (answer, args)


@pytest.mark.django_db(transaction=True)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@seed(SEED)
@given(case=inputs())
def test_hostile_inputs_end_cleanly(worker, files, case):
    model, kind, data, args, overrides = case
    path = files(data, kind)
    args = [model, path, "--json", *args]
    check(worker.run(args, overrides), args)


# --- what fuzzing found (issue 12), each as a minimal file ---------------------------------------


def _xlsx(rows, **options):
    return workbook_bytes(rows, **options)


def _damaged_deflate():
    """A workbook whose sheet's deflate stream starts with a reserved block type."""
    data = bytearray(_xlsx([["name", "starts"], ["x", "2024-01-01"]]))
    name = b"xl/worksheets/sheet1.xml"
    header = data.rindex(b"PK\x03\x04", 0, data.index(name))
    start = header + 30 + len(name)
    data[start] = 0xFF  # BFINAL=1, BTYPE=11: "invalid block type"
    return bytes(data)


REGRESSIONS = {
    # 1. Out of range once stored in UTC.
    "datetime-year-1-in-paris": ("csv", b"name,starts\nx,0001-01-01 00:00\n", "testapp.Event", 1),
    "datetime-9999-west-of-utc": (
        "csv",
        b"name,starts\nx,9999-12-31T23:59:59-05:00\n",
        "testapp.Event",
        1,
    ),
    # 2. Numbers Python would take minutes or gigabytes to build.
    "primary-key-1e20-digits": (
        "csv",
        b"id,name,starts\n1e999999999999999999,x,2024-01-01\n",
        "testapp.Event",
        1,
    ),
    "integer-1e2000000": (
        "csv",
        b"name,starts,attendees\nx,2024-01-01,1e2000000\n",
        "testapp.Event",
        1,
    ),
    "integer-100000-nines": (
        "csv",
        b"name,starts,attendees\nx,2024-01-01," + b"9" * 100_000 + b"\n",
        "testapp.Event",
        1,
    ),
    "duration-overflow": (
        "csv",
        b"name,starts,duration\nx,2024-01-01,999999999 days\n",
        "testapp.Event",
        1,
    ),
    # 3. A date-styled cell holding -1e308 (calamine panics converting it).
    "date-cell-minus-1e308": (
        "xlsx",
        _xlsx([["name", "starts"], ["x", Cell("-1e308", "n", style=1)]]),
        "testapp.Event",
        (1, 2),
    ),
    # 4, 6. Shared strings declaring more strings than the part holds.
    "shared-strings-2-pow-64": (
        "xlsx",
        _xlsx([["name", "starts"], ["x", "2024-01-01"]], declared_strings=18446744073709551615),
        "testapp.Event",
        2,
    ),
    "shared-strings-2e9": (
        "xlsx",
        _xlsx([["name", "starts"], ["x", "2024-01-01"]], declared_strings=2_000_000_000),
        "testapp.Event",
        2,
    ),
    # 5. Two cells spanning the whole sheet.
    "cells-at-a1-and-xfd1048576": (
        "xlsx",
        _xlsx([["name"], [Cell("1", "n", ref="XFD1048576")]]),
        "testapp.Event",
        2,
    ),
    # 7. One far cell in a tiny file.
    "cell-at-a10000000": (
        "xlsx",
        _xlsx([["name"], [Cell("1", "n", ref="A10000000")]]),
        "testapp.Event",
        2,
    ),
    # Found by the long campaign: zipfile raises zlib.error for a bad deflate stream.
    "deflate-invalid-block-type": ("xlsx", _damaged_deflate(), "testapp.Event", 2),
    # 9. A row number of 2**32 - 1 (openpyxl produced every row up to it).
    "row-4294967295": (
        "xlsx",
        _xlsx([["name", "starts"], ["x", "2024-01-01"]], row_numbers=[1, 4_294_967_295]),
        "testapp.Event",
        2,
    ),
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("reader", ["calamine", "openpyxl", "stream"])
@pytest.mark.parametrize("name", sorted(REGRESSIONS))
def test_what_fuzzing_found_ends_cleanly(worker, files, name, reader):
    kind, data, model, expected = REGRESSIONS[name]
    if kind == "csv" and reader != "calamine":
        pytest.skip("one reader of CSV")
    args = [model, files(data, kind), "--json"]
    answer = worker.run(args, {"BULK_ADMIN_XLSX_READER": reader})
    check(answer, args)
    assert answer["code"] in (expected if isinstance(expected, tuple) else (expected,)), answer


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "encoding", ["hex", "base64", "zlib", "rot13", "undefined", "bz2", "quopri", "uu"]
)
def test_codecs_that_are_no_text_encodings_exit_2(worker, files, encoding):
    args = ["testapp.Event", files(b"name,starts\nx,2024-01-01\n", "csv"), "--json"]
    answer = worker.run(args + ["--encoding", encoding])
    check(answer, args)
    assert answer["code"] == 2
    assert "not a text encoding" in answer["stderr"], answer["stderr"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("encoding", ["utf-16", "utf-32", "punycode", "idna"])
def test_decoding_failures_of_any_kind_are_reported(worker, files, encoding):
    # No byte order mark, an odd number of bytes: the codec fails in its own way.
    args = ["testapp.Event", files(b"name,starts\nx,2024-01-01\n\xff", "csv"), "--json"]
    answer = worker.run(args + ["--encoding", encoding])
    check(answer, args)
    assert answer["code"] in (1, 2)
