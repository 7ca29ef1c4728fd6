"""Two skip or update imports of one table at once: each reports what it really wrote.

Every leg, with real threads on real connections: the first import holds the table's import
lock (bulk_admin.locks) while a chunk hook keeps it busy; the second waits for it, then
checks its keys against the committed rows.
"""

import threading

import pytest
from django.db import connection, connections

from bulk_admin.exceptions import DatabaseRejected, ImportCancelled
from bulk_admin.importer import import_file
from bulk_admin.locks import lock_name
from tests.testapp.models import Book

pytestmark = pytest.mark.django_db(transaction=True)

WAIT = 60  # seconds, on a busy 2-core machine


def rows(count, first=0):
    return [["isbn", "title"], *[[str(1000 + i), "B%d" % i] for i in range(first, first + count)]]


class Holder:
    """Run an import in a thread and keep it inside its transaction until released."""

    def __init__(self, path, **options):
        self.inside = threading.Event()
        self.release = threading.Event()
        self.result = None
        self.error = None

        def hold(chunk):
            self.inside.set()
            assert self.release.wait(WAIT)

        self.thread = threading.Thread(
            target=self._run, args=(path,), kwargs=dict(options, chunk_hooks=[hold])
        )

    def _run(self, path, **options):
        try:
            self.result = import_file(Book, path, **options)
        except Exception as exc:  # noqa: BLE001 (the test asserts on it)
            self.error = exc
        finally:
            connections.close_all()

    def start(self):
        self.thread.start()
        assert self.inside.wait(WAIT), self.error
        return self


class Runner:
    """Run an import in a thread, noting the progress stages it reports."""

    def __init__(self, path, progress=None, **options):
        self.stages = []
        self.result = None
        self.error = None
        self.done = threading.Event()

        def report(step):
            self.stages.append(step.stage)
            if progress is not None:
                progress(step)

        self.thread = threading.Thread(target=self._run, args=(path, report), kwargs=options)

    def _run(self, path, report, **options):
        try:
            self.result = import_file(Book, path, progress=report, **options)
        except Exception as exc:  # noqa: BLE001
            self.error = exc
        finally:
            self.done.set()
            connections.close_all()

    def start(self):
        self.thread.start()
        return self


# PostgreSQL's COPY sink counts from the database's answer and takes no lock; its bulk_create
# sink takes it as every other database does: the tests use bulk_create everywhere.
@pytest.mark.parametrize("policy", ["skip", "update"])
def test_the_second_import_waits_and_counts_what_the_first_wrote(make_csv, policy):
    first = make_csv(rows(600), name="first.csv")
    second = make_csv(rows(600, 300), name="second.csv")
    holder = Holder(first, on_conflict=policy, sink="bulk_create").start()
    runner = Runner(second, on_conflict=policy, sink="bulk_create").start()
    # The second import cannot check its keys while the first holds the table.
    assert not runner.done.wait(2), runner.error
    holder.release.set()
    holder.thread.join(WAIT)
    runner.thread.join(WAIT)
    assert holder.error is None and runner.error is None, (holder.error, runner.error)
    assert (holder.result.created, holder.result.updated, holder.result.skipped) == (600, 0, 0)
    second_counts = (runner.result.created, runner.result.updated, runner.result.skipped)
    if policy == "skip":
        assert second_counts == (300, 0, 300)
    else:
        assert second_counts == (300, 300, 0)
    assert Book.objects.count() == 900
    if connection.vendor != "sqlite":  # SQLite waits inside BEGIN IMMEDIATE, silently
        assert "waiting" in runner.stages


def test_a_lock_not_obtained_in_time_writes_nothing(make_csv, settings):
    settings.BULK_ADMIN_LOCK_TIMEOUT = 1
    holder = Holder(make_csv(rows(10), name="first.csv"), on_conflict="skip", sink="bulk_create")
    holder.start()
    try:
        with pytest.raises(DatabaseRejected, match="Another import of this table did not finish"):
            import_file(
                Book,
                make_csv(rows(10, 50), name="second.csv"),
                on_conflict="skip",
                sink="bulk_create",
            )
    finally:
        holder.release.set()
        holder.thread.join(WAIT)
    assert holder.error is None, holder.error
    assert Book.objects.count() == 10


def test_a_cancel_while_waiting_ends_the_wait(make_csv):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite waits inside BEGIN IMMEDIATE, without calling back")

    def cancel(step):
        if step.stage == "waiting":
            raise ImportCancelled("cancelled while waiting")

    holder = Holder(make_csv(rows(10), name="first.csv"), on_conflict="update", sink="bulk_create")
    holder.start()
    runner = Runner(
        make_csv(rows(10, 50), name="second.csv"),
        progress=cancel,
        on_conflict="update",
        sink="bulk_create",
    ).start()
    assert runner.done.wait(WAIT)
    holder.release.set()
    holder.thread.join(WAIT)
    assert isinstance(runner.error, ImportCancelled), runner.error
    assert Book.objects.count() == 10


def test_error_policy_and_dry_runs_take_no_lock(make_csv):
    holder = Holder(make_csv(rows(10), name="first.csv"), on_conflict="skip", sink="bulk_create")
    holder.start()
    try:
        # Neither waits for the held lock (SQLite aside: one writer there in any case).
        dry = import_file(
            Book, make_csv(rows(10, 50), name="dry.csv"), on_conflict="skip", dry_run=True
        )
        assert dry.created == 10
    finally:
        holder.release.set()
        holder.thread.join(WAIT)
    assert Book.objects.count() == 10


def test_lock_names_fit_the_databases_limit():
    class Meta:
        db_table = "x" * 120

    model = type("Long", (), {"_meta": Meta})
    assert len(lock_name(model)) <= 64
    assert lock_name(Book) == "bulk_admin:testapp_book"
