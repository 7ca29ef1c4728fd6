"""The ImportJob state machine: every step of a job starts, runs and ends here, exactly once.

Views only do HTTP and call the functions below; the tasks in :mod:`bulk_admin.tasks` call
:func:`run_job`. The life of a job's step:

1. :func:`start_validation` / :func:`start_commit` move the job to ``validating`` /
   ``importing`` with a compare-and-swap on its status, then enqueue the task. A failed
   enqueue ends the step as ``failed`` with a message; the user may try again.
2. :func:`run_job` (the worker) *claims* the job with a compare-and-swap on its ``claim``
   token: a second delivery of the same task finds it claimed and exits.
3. While it runs, a heartbeat thread writes ``heartbeat_at`` and the progress counts on the
   job row (its own connection, outside the import's transaction) and reads the cancel flag.
4. The import's writes and the job's final status commit in one transaction when the job
   table lives in the import's database. The job row is locked and read again just before
   that commit: a cancel, a reaped or a deleted job rolls the import back.
5. ``import_finished`` receivers run after the commit; their errors are logged and shown as a
   warning, never turn a written import into a failure.

A running job whose heartbeat is older than ``BULK_ADMIN_HEARTBEAT_TIMEOUT`` is failed ("the
worker stopped") when looked at, and by ``manage.py bulk_import_reap``. The cache
(``BULK_ADMIN_CACHE``) only speeds up the progress display; its outage changes nothing else.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import decimal
import itertools
import logging
import pickle
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core import signing
from django.core.cache import caches
from django.db import DatabaseError, connections, models, router, transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from bulk_admin import signals
from bulk_admin.conf import conf
from bulk_admin.conversion import Chunk, display_value
from bulk_admin.exceptions import BulkAdminError, ImportCancelled, OptionError
from bulk_admin.importer import Importer, ImportOptions, Progress
from bulk_admin.locks import import_transaction, write_transaction
from bulk_admin.models import ImportJob, ImportJobError
from bulk_admin.reading import ReadingOptions
from bulk_admin.results import ErrorSpool, ImportResult, format_summary

logger = logging.getLogger("bulk_admin")

SAMPLE_ROWS = 10
_CACHE_INTERVAL = 0.3
_SCOPE_SALT = "bulk_admin.jobs.scope"
ERRORS_IN_MEMORY = 1_000  # errors a worker holds; the job's error table gets them all
_RESOURCE_SALT = "bulk_admin.jobs.resource_kwargs"
Status = ImportJob.Status
RUNNING = (Status.VALIDATING, Status.IMPORTING)


# --- the options of a job ------------------------------------------------------------------


@dataclass(frozen=True)
class JobOptions:
    """Everything a job's steps need, decided in the request and stored as JSON on the job.

    Built by the ModelAdmin's ``get_bulk_import_options(request)`` at upload and again at
    each step (so that tightening the admin applies to pending jobs); the worker reads it
    back with :meth:`from_json` and never calls a request hook.
    """

    fields: tuple[str, ...] = ()
    """The fields this user's file may set."""
    aliases: Mapping[str, str] = dataclasses.field(default_factory=dict)
    fk_lookups: Mapping[str, str] = dataclasses.field(default_factory=dict)
    keys: tuple[str, ...] | None = None
    batch_size: int | None = None
    resource: str = ""
    """Dotted path of the django-import-export resource class whose hooks apply, or ""."""
    resource_kwargs: str = ""
    """The admin's ``get_import_resource_kwargs(request)`` for that resource, signed and
    pickled (:func:`dump_resource_kwargs`), or "" when there are none."""
    on_conflict: str = "error"
    encoding: str = "auto"
    delimiter: str = "auto"
    sheet: str | None = None
    skip_invalid: bool = False
    scope: str | None = None
    """The admin's ``get_queryset(request)`` when it filters rows: a signed, pickled query."""
    samples: tuple[tuple[str, ...], ...] = ()
    """The first values of each column, shown on the mapping page."""
    reading: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    """The user's reading options (null markers, formats, separators, words): the data of
    :class:`~bulk_admin.reading.ReadingOptions`."""

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for name in ("fields", "keys"):
            if data[name] is not None:
                data[name] = list(data[name])
        data["samples"] = [list(row) for row in self.samples]
        data["aliases"] = dict(self.aliases)
        data["fk_lookups"] = dict(self.fk_lookups)
        data["reading"] = dict(self.reading)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> JobOptions:
        """Return the options stored as ``data``; raise OptionError when they are unusable."""
        known = {f.name for f in dataclasses.fields(cls)}
        values = {name: value for name, value in dict(data).items() if name in known}
        try:
            options = cls(**values)
            return replace(
                options,
                fields=tuple(str(name) for name in options.fields),
                aliases={str(k): str(v) for k, v in dict(options.aliases).items()},
                fk_lookups={str(k): str(v) for k, v in dict(options.fk_lookups).items()},
                keys=tuple(str(k) for k in options.keys) if options.keys else None,
                batch_size=int(options.batch_size) if options.batch_size else None,
                resource=str(options.resource or ""),
                resource_kwargs=str(options.resource_kwargs or ""),
                on_conflict=str(options.on_conflict),
                encoding=str(options.encoding or "auto"),
                delimiter=str(options.delimiter or "auto"),
                sheet=str(options.sheet) if options.sheet else None,
                skip_invalid=bool(options.skip_invalid),
                samples=tuple(tuple(str(c) for c in row) for row in options.samples),
                reading=ReadingOptions.from_dict(options.reading).as_dict(),
            )
        except (TypeError, ValueError) as exc:
            raise OptionError(
                _("The options of this import are damaged: %(error)s") % {"error": exc}
            ) from None

    def with_request_parts(self, current: JobOptions) -> JobOptions:
        """Return these options with the admin-decided parts taken from ``current``."""
        return replace(
            self,
            fields=current.fields,
            aliases=current.aliases,
            fk_lookups=current.fk_lookups,
            batch_size=current.batch_size,
            resource=current.resource,
            resource_kwargs=current.resource_kwargs,
            scope=current.scope,
        )


class _PickleSerializer:
    # Only ever loads what this module signed (signing checks the signature first).
    def dumps(self, obj: Any) -> bytes:
        return base64.b64encode(pickle.dumps(obj))

    def loads(self, data: bytes) -> Any:
        return pickle.loads(base64.b64decode(data))  # noqa: S301 (signed by us)


def _signed(value: Any, salt: str) -> str:
    return signing.dumps(value, salt=salt, serializer=_PickleSerializer)


def _unsigned(text: str, salt: str) -> Any:
    """Return the value :func:`_signed` gave ``text`` for; damaged text is an OptionError."""
    try:
        return signing.loads(text, salt=salt, serializer=_PickleSerializer)
    except signing.BadSignature:
        raise OptionError(_("The options of this import are damaged.")) from None


def dump_scope(queryset: Any) -> str | None:
    """Return the admin queryset's query as signed text, or None when it filters no row."""
    if queryset is None or not queryset.query.has_filters():
        return None
    return _signed(queryset.query, _SCOPE_SALT)


def dump_resource_kwargs(kwargs: Mapping[str, Any]) -> str:
    """Return the resource's keyword arguments as signed text ("" for none).

    They were built in the request (``get_import_resource_kwargs(request)``): a user, a
    tenant, any picklable value. Raise OptionError when one cannot be stored for the worker.
    """
    if not kwargs:
        return ""
    try:
        return _signed(dict(kwargs), _RESOURCE_SALT)
    except Exception as exc:  # pickle raises TypeError, AttributeError, PicklingError…
        raise OptionError(
            _(
                "The import cannot start: get_import_resource_kwargs() returned a value that "
                "cannot be stored for the worker (%(error)s)."
            )
            % {"error": exc}
        ) from exc


def load_resource_kwargs(text: str) -> dict[str, Any]:
    """Return the keyword arguments saved by :func:`dump_resource_kwargs`."""
    return dict(_unsigned(text, _RESOURCE_SALT)) if text else {}


def load_scope(model: type[models.Model], text: str | None) -> Any:
    """Return the queryset saved by :func:`dump_scope`, or None."""
    if not text:
        return None
    queryset = model._base_manager.all()
    queryset.query = _unsigned(text, _SCOPE_SALT)
    return queryset


def preview_token(job: ImportJob) -> str:
    """Return a token naming the job's latest check (its mapping, options and end time)."""
    import hashlib
    import json

    data = json.dumps(
        [job.mapping, job.options, job.finished_at.isoformat() if job.finished_at else ""],
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(data.encode()).hexdigest()[:32]


def job_options(job: ImportJob) -> JobOptions:
    """Return the typed options of ``job``."""
    return JobOptions.from_json(job.options or {})


# --- the cache: optional, for a livelier progress bar ----------------------------------


def _cache() -> Any:
    return caches[conf.CACHE]


def progress_key(job_id: Any) -> str:
    return "bulk_admin:progress:%s" % job_id


def cancel_key(job_id: Any) -> str:
    return "bulk_admin:cancel:%s" % job_id


def _cache_get(key: str) -> Any:
    try:
        return _cache().get(key)
    except Exception:  # an outage only makes the display slower
        logger.warning("bulk_admin: the cache %r is unavailable", conf.CACHE, exc_info=True)
        return None


def _cache_set(key: str, value: Any) -> None:
    try:
        _cache().set(key, value, timeout=24 * 3600)
    except Exception:
        logger.warning("bulk_admin: the cache %r is unavailable", conf.CACHE, exc_info=True)


def _cache_delete(*keys: str) -> None:
    try:
        _cache().delete_many(list(keys))
    except Exception:
        logger.warning("bulk_admin: the cache %r is unavailable", conf.CACHE, exc_info=True)


def clear_progress(job: ImportJob) -> None:
    """Forget the cached progress and cancel flag of an earlier run of ``job``."""
    _cache_delete(progress_key(job.pk), cancel_key(job.pk))


# --- starting, cancelling and reaping, called by the views --------------------------------


def _fresh(**changes: Any) -> dict[str, Any]:
    # What a step's start resets: nobody has claimed it, no heartbeat, no progress yet.
    return {
        "claim": "",
        "heartbeat_at": None,
        "progress": {},
        "cancel_requested": False,
        "message": "",
        "started_at": None,
        "finished_at": None,
        **changes,
    }


def start_validation(job: ImportJob, options: JobOptions, mapping: Mapping[str, str]) -> bool:
    """Check the job's file with ``mapping`` in a task; False when the job is busy or done."""
    reap_if_stale(job)
    started = ImportJob.objects.filter(
        pk=job.pk, status__in=[Status.UPLOADED, Status.VALIDATED, Status.FAILED]
    ).update(
        **_fresh(
            options=options.to_json(),
            mapping=dict(mapping),
            status=Status.VALIDATING,
            phase="validate",
        )
    )
    if started:
        clear_progress(job)
        _enqueue(job, commit=False)
    return bool(started)


def start_commit(job: ImportJob, options: JobOptions) -> bool:
    """Import the validated job in a task; False when it was started already (a 2nd click)."""
    started = ImportJob.objects.filter(pk=job.pk, status=Status.VALIDATED).update(
        **_fresh(options=options.to_json(), status=Status.IMPORTING, phase="commit")
    )
    if started:
        clear_progress(job)
        _enqueue(job, commit=True)
    return bool(started)


def _enqueue(job: ImportJob, *, commit: bool) -> None:
    from bulk_admin import tasks

    task = tasks.commit_import_job if commit else tasks.validate_import_job
    try:
        task_id = tasks.enqueue(task, job.pk)
    except Exception:
        logger.exception("bulk_admin: could not enqueue import job %s", job.pk)
        _end(
            job.pk,
            Status.FAILED,
            _(
                "The import could not be started: the task queue is unavailable. Nothing was "
                "written; try again in a moment."
            ),
            status__in=RUNNING,
            claim="",
        )
        return
    ImportJob.objects.filter(pk=job.pk).update(task_id=task_id)


def request_cancel(job: ImportJob) -> str:
    """Cancel ``job``; return ``"cancelled"``, ``"requested"`` (a live worker) or ``""``.

    A job not started, still queued or orphaned (stale heartbeat) ends at once; a running
    worker sees the flag before its commit and rolls back.
    """
    reap_if_stale(job)
    message = _("The import was cancelled; nothing was written.")
    if _end(
        job.pk,
        Status.CANCELLED,
        _("Cancelled before the import started."),
        status__in=[Status.UPLOADED, Status.VALIDATED],
    ) or _end(job.pk, Status.CANCELLED, message, status__in=RUNNING, claim=""):
        return Status.CANCELLED
    if ImportJob.objects.filter(pk=job.pk, status__in=RUNNING).update(cancel_requested=True):
        _cache_set(cancel_key(job.pk), True)
        return "requested"
    return ""


def _stale_before() -> datetime.datetime:
    return timezone.now() - datetime.timedelta(seconds=conf.HEARTBEAT_TIMEOUT)


def _stale_message() -> str:
    return _(
        "The worker stopped while running this import (no heartbeat for %(seconds)d s); "
        "nothing was written. Try again."
    ) % {"seconds": conf.HEARTBEAT_TIMEOUT}


def reap_stale(queryset: models.QuerySet[ImportJob] | None = None) -> int:
    """Fail every claimed, running job whose heartbeat is too old; return how many."""
    queryset = ImportJob.objects.all() if queryset is None else queryset
    stale = queryset.filter(status__in=RUNNING, heartbeat_at__lt=_stale_before()).exclude(claim="")
    return stale.update(
        status=Status.FAILED, message=_stale_message(), finished_at=timezone.now(), claim=""
    )


def reap_if_stale(job: ImportJob) -> bool:
    """Fail ``job`` if its worker stopped; refresh it and return True if it did."""
    if job.status not in RUNNING or not job.claim:
        return False
    if job.heartbeat_at is not None and job.heartbeat_at >= _stale_before():
        return False  # alive: no write (on SQLite it would wait for the worker's lock)
    try:
        if not reap_stale(ImportJob.objects.filter(pk=job.pk)):
            return False
    except DatabaseError:  # SQLite while a worker writes: look again on the next poll
        logger.warning("bulk_admin: could not reap job %s", job.pk, exc_info=True)
        return False
    job.refresh_from_db()
    return True


def get_progress(job: ImportJob) -> dict[str, Any]:
    """Return the live progress of ``job``: from the cache when fresh, else its row."""
    reap_if_stale(job)
    data = dict(job.progress or {})
    if job.is_running:
        cached = _cache_get(progress_key(job.pk))
        if cached and cached.get("elapsed", 0) >= data.get("elapsed", 0):
            data = cached
    rows = int(data.get("rows", 0))
    elapsed = float(data.get("elapsed", 0.0))
    total = data.get("total")
    rate = rows / elapsed if elapsed > 0 else 0.0
    left = (total - rows) / rate if total and rate else None
    percent = min(100.0, 100.0 * rows / total) if total else None
    if job.is_finished or job.status == Status.VALIDATED:
        rows = job.rows if job.status != Status.VALIDATED else job.dry_run_rows
        percent = 100.0
        left = 0.0
        total = rows
    if job.is_queued:
        state = "queued"
    elif job.is_running:
        # "waiting": another skip or update import of the table holds its lock.
        state = "waiting" if data.get("stage") == "waiting" else "running"
    else:
        state = "finished"
    return {
        "status": job.status,
        "status_display": str(job.get_status_display()),
        "state": state,
        "stage": data.get("stage", ""),
        "rows": rows,
        "total": total,
        "invalid": int(data.get("invalid", 0)),
        "percent": percent,
        "rate": round(rate, 1),
        "seconds_left": round(left, 1) if left is not None else None,
        "finished": not job.is_running,
        "message": job.message,
    }


def _end(job_id: Any, status: str, message: str, **where: Any) -> int:
    """Set the final ``status`` of the job if it still matches ``where``; return 1 or 0."""
    now = timezone.now()
    return ImportJob.objects.filter(pk=job_id, **where).update(
        status=status, message=message, finished_at=now, claim=""
    )


# --- the worker ----------------------------------------------------------------------------


def get_model_admin(job: ImportJob) -> Any:
    """Return the ModelAdmin of the job's admin site for its model, or None."""
    from django.contrib.admin.exceptions import NotRegistered
    from django.contrib.admin.sites import all_sites

    model = job.content_type.model_class()
    for site in all_sites:
        if site.name == job.admin_site and model is not None:
            try:
                return site.get_model_admin(model)
            except NotRegistered:
                return None
    return None


def build_options(job: ImportJob, *, dry_run: bool) -> ImportOptions:
    """Return the ImportOptions of ``job``: its stored options plus the admin's code hooks."""
    stored = job_options(job)
    model = job.content_type.model_class()
    assert model is not None
    options = ImportOptions(
        mapping=dict(job.mapping),
        on_conflict=stored.on_conflict,
        keys=list(stored.keys) if stored.keys else None,
        skip_invalid=stored.skip_invalid,
        dry_run=dry_run,
        batch_size=stored.batch_size,
        format=job.format or "auto",
        encoding=stored.encoding,
        delimiter=stored.delimiter,
        sheet=stored.sheet,
        fields=list(stored.fields),
        aliases=dict(stored.aliases),
        fk_lookups=dict(stored.fk_lookups),
        # The errors go to the job's error table through a spool (_run_claimed), as found.
        max_errors=ERRORS_IN_MEMORY,
        scope=load_scope(model, stored.scope),
        **_reading_fields(stored.reading),
    )
    model_admin = get_model_admin(job)
    if model_admin is not None and stored.on_conflict != "error":
        options.row_permission = _row_permission(job, model_admin)
    if model_admin is not None and hasattr(model_admin, "get_bulk_import_hooks"):
        resource = import_string(stored.resource) if stored.resource else None
        kwargs = load_resource_kwargs(stored.resource_kwargs)
        # The kwargs only when there are some: an override of the older signature still works.
        hooks = model_admin.get_bulk_import_hooks(
            resource, **({"resource_kwargs": kwargs} if kwargs else {})
        )
        options.converters = hooks.get("converters") or None
        options.empty_cells = hooks.get("empty_cells") or None
        options.chunk_hooks = list(hooks.get("chunk_hooks") or ())
    return options


def _reading_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    """Return the ImportOptions fields of the stored reading options."""
    reading = ReadingOptions.from_dict(data)
    return {
        "null_values": list(reading.null_values),
        "date_formats": list(reading.date_formats),
        "datetime_formats": list(reading.datetime_formats),
        "decimal_separator": reading.decimal_separator,
        "thousands_separator": reading.thousands_separator,
        "true_values": list(reading.true_values),
        "false_values": list(reading.false_values),
    }


def _row_permission(job: ImportJob, model_admin: Any) -> Callable[[list[Any]], set[Any]] | None:
    """Return the per-row check of an admin that overrides ``has_change_permission``.

    Without an override the check is set-based (the model permission, checked in the
    request, and ``get_queryset``). With one, each matched row is passed to it, with a
    request rebuilt for the job's user (``request.user`` only: no session, no headers).
    """
    from django.contrib.admin import ModelAdmin
    from django.contrib.auth.models import AnonymousUser
    from django.http import HttpRequest

    method = model_admin.has_change_permission
    if getattr(method, "__func__", None) is ModelAdmin.has_change_permission:
        return None
    request = HttpRequest()
    request.method = "POST"
    request.user = job.created_by or AnonymousUser()

    def refused(objects: list[Any]) -> set[Any]:
        return {obj.pk for obj in objects if not model_admin.has_change_permission(request, obj)}

    return refused


class _Gone(Exception):
    """Internal: the job was cancelled, reaped or deleted under the worker."""


class Heartbeat:
    """Write the job's heartbeat and progress on its row, from a thread of its own.

    The thread has its own database connection, so its writes are seen at once, outside the
    import's transaction, and go on while a long statement (a COPY, an INSERT … SELECT)
    runs. It also reads the cancel flag. On SQLite a write waits while the import holds the
    database's write lock: make ``BULK_ADMIN_HEARTBEAT_TIMEOUT`` longer than an import.
    """

    def __init__(self, job_id: Any, token: str, total: int | None):
        self.job_id = job_id
        self.token = token
        self.total = total
        self.started = time.monotonic()
        self.latest: dict[str, Any] = {"rows": 0, "total": total, "invalid": 0, "stage": ""}
        self.cancelled = threading.Event()
        self.gone = threading.Event()
        self._stop = threading.Event()
        self._held = threading.Event()
        self._last_cache = 0.0
        self._thread = threading.Thread(
            target=self._run, name="bulk_admin-heartbeat-%s" % job_id, daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def hold(self) -> None:
        """Stop writing heartbeats on the row (the cache still gets the progress)."""
        self._held.set()

    def report(self, progress: Progress) -> None:
        """The importer's progress callback: remember, publish to the cache, honour cancel."""
        self.latest = {
            "rows": progress.rows,
            "total": self.total,
            "invalid": progress.invalid,
            "stage": progress.stage,
            "elapsed": progress.elapsed,
        }
        now = time.monotonic()
        if now - self._last_cache >= _CACHE_INTERVAL or progress.stage == "writing":
            self._last_cache = now
            _cache_set(progress_key(self.job_id), self.latest)
            if _cache_get(cancel_key(self.job_id)):
                self.cancelled.set()
        if self.gone.is_set():
            raise _Gone  # reaped, cancelled while stale, or deleted: roll back
        if self.cancelled.is_set():
            raise ImportCancelled(_("The import was cancelled; nothing was written."))

    def beat(self) -> None:
        """Write one heartbeat now; note a cancel, or a job that is no longer this worker's."""
        progress = dict(self.latest, elapsed=time.monotonic() - self.started)
        ours = ImportJob.objects.filter(pk=self.job_id, claim=self.token, status__in=RUNNING)
        if not ours.update(heartbeat_at=timezone.now(), progress=progress):
            self.gone.set()
        elif ours.filter(cancel_requested=True).exists():
            self.cancelled.set()

    def _run(self) -> None:
        try:
            while not self._stop.wait(conf.HEARTBEAT_INTERVAL):
                if self._held.is_set():
                    continue
                try:
                    self.beat()
                except DatabaseError:
                    logger.warning("bulk_admin: heartbeat of job %s failed", self.job_id)
        finally:
            connections.close_all()


def run_job(job_id: str, *, commit: bool) -> str:
    """Validate (``commit=False``) or import (``commit=True``) the job; return its status.

    The worker entry point of the tasks. Every outcome ends in the job's status and
    message; nothing is raised. A job that another delivery claimed, that was cancelled
    or deleted, is left alone (``""`` for a job that no longer exists).
    """
    expected = Status.IMPORTING if commit else Status.VALIDATING
    token = uuid.uuid4().hex
    claimed = ImportJob.objects.filter(pk=job_id, status=expected, claim="").update(
        claim=token, heartbeat_at=timezone.now(), started_at=timezone.now()
    )
    job = ImportJob.objects.select_related("content_type").filter(pk=job_id).first()
    if job is None:
        return ""
    if not claimed:
        return str(job.status)  # a second delivery, or a job cancelled while queued
    total = job.dry_run_rows if commit and job.dry_run_rows else None
    heartbeat = Heartbeat(job.pk, token, total)
    heartbeat.start()
    try:
        _run_claimed(job, token, commit, heartbeat)
    finally:
        heartbeat.stop()
    status = ImportJob.objects.filter(pk=job_id).values_list("status", flat=True).first()
    return str(status or "")


def _run_claimed(job: ImportJob, token: str, commit: bool, heartbeat: Heartbeat) -> None:
    # A check's errors, in a temporary file as they are found, for the job's error table.
    spool = ErrorSpool(limit=conf.MAX_STORED_ERRORS or None)
    try:
        _run_spooled(job, token, commit, heartbeat, spool)
    finally:
        spool.close()


def _run_spooled(
    job: ImportJob, token: str, commit: bool, heartbeat: Heartbeat, spool: ErrorSpool
) -> None:
    model = job.content_type.model_class()
    mine = {"claim": token, "status__in": RUNNING}
    sample: list[dict[str, str]] = []
    try:
        if model is None:
            raise OptionError(_("The model of this import no longer exists."))
        options = build_options(job, dry_run=not commit)
        if not commit:
            options.on_errors = spool.write
        target = options.database or router.db_for_write(model)
        # One transaction for the rows and the job's status when both live in one database.
        together = commit and router.db_for_write(ImportJob) == target
        with job.file.open("rb") as file:
            importer = Importer(
                model,
                file,
                options,
                name=job.original_name,
                progress=heartbeat.report,
                send_signal=False,
            )
            if not commit:
                options.chunk_hooks = [*options.chunk_hooks, _sampler(importer, sample)]
            if together:
                if connections[target].vendor == "sqlite":
                    # SQLite has one writer: a heartbeat committed meanwhile would void
                    # this transaction's snapshot. Beat again once it is over.
                    heartbeat.hold()
                # The outermost transaction: it holds the table's import lock, if any.
                with import_transaction(
                    model,
                    target,
                    lock=importer.locks_table(),
                    waiting=importer.waiting_callback(),
                ):
                    result = importer.run()
                    _store_result(job, token, result, commit=commit, sample=sample, spool=spool)
            else:
                # A check writes nothing; an import into another database than the job's
                # commits its rows first: a cancel arriving after that is too late.
                result = importer.run()
                _store_result(
                    job,
                    token,
                    result,
                    commit=commit,
                    sample=sample,
                    spool=spool,
                    written=result.committed,
                )
    except _Gone:
        return
    except ImportCancelled as exc:
        _end(job.pk, Status.CANCELLED, str(exc), **mine)
        return
    except FileNotFoundError:
        _end(job.pk, Status.FAILED, _("The uploaded file is no longer stored."), **mine)
        return
    except BulkAdminError as exc:
        _end(job.pk, Status.FAILED, str(exc), **mine)
        return
    except Exception:
        logger.exception("bulk_admin: import job %s failed", job.pk)
        _end(
            job.pk,
            Status.FAILED,
            _(
                "The import failed because of an unexpected error; nothing was written. "
                "The server log has the details."
            ),
            **mine,
        )
        return
    if commit and result.committed:
        transaction.on_commit(lambda: _send_finished(job, model, result, target), using=target)
    _cache_delete(cancel_key(job.pk))


def _send_finished(job: ImportJob, model: Any, result: ImportResult, using: str) -> None:
    failures = [
        (receiver, response)
        for receiver, response in signals.import_finished.send_robust(
            sender=model, result=result, using=using
        )
        if isinstance(response, Exception)
    ]
    if not failures:
        return
    for receiver, error in failures:
        logger.error(
            "bulk_admin: an import_finished receiver (%r) failed after job %s was written",
            receiver,
            job.pk,
            exc_info=(type(error), error, error.__traceback__),
        )
    warning = _(
        "The rows were written, but a receiver of import_finished failed afterwards; "
        "the server log has the details."
    )
    message = ImportJob.objects.filter(pk=job.pk).values_list("message", flat=True).first()
    if message is not None:
        ImportJob.objects.filter(pk=job.pk).update(message="%s %s" % (message, warning))


def _sampler(importer: Importer, sample: list[dict[str, str]]) -> Callable[[Chunk], None]:
    """Return a chunk hook keeping the first rows as they will be written, for the preview.

    Only the mapped fields are shown (defaults such as a random UUID would differ from what
    the commit writes), foreign keys as their related object, decimals with their places.
    More rows than shown are kept: rows found invalid later (taken keys) are dropped then.
    """

    def capture(chunk: Chunk) -> None:
        plan = importer.plan
        if len(sample) >= SAMPLE_ROWS * 2 or plan is None:
            return
        rows = chunk.rows[: SAMPLE_ROWS * 2 - len(sample)]
        related: dict[int, dict[Any, str]] = {}
        for position, field in enumerate(plan.mapped_fields):
            if isinstance(field, models.ForeignObject):
                model = field.related_model
                assert not isinstance(model, str)
                target = field.target_field.attname
                keys = {values[position] for _row, values in rows if values[position] is not None}
                objects = model._base_manager.db_manager(importer.using).filter(
                    **{target + "__in": keys}
                )
                related[position] = {getattr(obj, target): str(obj) for obj in objects}
        for row_number, values in rows:
            shown = {"__row__": str(row_number)}
            for position, field in enumerate(plan.mapped_fields):
                value = values[position]
                if value is None:
                    text = ""
                elif position in related:
                    text = related[position].get(value, str(value))
                elif isinstance(value, decimal.Decimal) and isinstance(field, models.DecimalField):
                    places = decimal.Decimal(1).scaleb(-(field.decimal_places or 0))
                    text = str(value.quantize(places))
                else:
                    text = str(display_value(value))
                shown[str(field.verbose_name)] = text
            sample.append(shown)

    return capture


def _store_result(
    job: ImportJob,
    token: str,
    result: ImportResult,
    *,
    commit: bool,
    sample: list[dict[str, str]],
    spool: ErrorSpool,
    written: bool = False,
) -> None:
    """Write the job's outcome, if the job is still this worker's; else raise _Gone.

    Called inside the import's transaction when both share a database: the job row is
    locked and read again, so a cancel or a reap that came first rolls the import back.
    """
    # On SQLite, a heartbeat committed between this read and its writes would void it.
    with write_transaction(router.db_for_write(ImportJob)):
        row = (
            ImportJob.objects.select_for_update()
            .filter(pk=job.pk)
            .values("status", "claim", "cancel_requested")
            .first()
        )
        if row is None or (
            not written and (row["claim"] != token or row["status"] not in RUNNING)
        ):
            raise _Gone
        if row["cancel_requested"] and not written:
            raise ImportCancelled(_("The import was cancelled; nothing was written."))
        changes: dict[str, Any] = {
            "method": result.method,
            "rows": result.rows,
            "created": result.created,
            "updated": result.updated,
            "skipped": result.skipped,
            "invalid": result.invalid,
            "error_count": spool.count if not commit else len(result.errors),
            "detected": {
                **(result.file.detected() if result.file else {}),
                # What the check proposes (bulk_admin.hints), offered on the preview.
                "hints": [hint.as_dict() for hint in result.hints],
                "reading": dict(result.reading),
            },
            "finished_at": timezone.now(),
            "duration": result.duration,
            "progress": {},
            "claim": "",
        }
        if not commit:
            # One pass over the spool: the error table, and which sample rows are invalid.
            shown = {int(row["__row__"]) for row in sample}
            invalid_rows: set[int] = set()
            job.errors.all().delete()
            errors = spool.read()
            while batch := list(itertools.islice(errors, 1000)):
                invalid_rows.update(error.row for error in batch if error.row in shown)
                ImportJobError.objects.bulk_create(
                    ImportJobError(
                        job=job,
                        row=error.row,
                        column=(error.column or "")[:255],
                        field=(error.field or "")[:255],
                        value=error.value or "",
                        message=error.message,
                    )
                    for error in batch
                )
            changes.update(
                dry_run_rows=result.rows,
                sample=[row for row in sample if int(row["__row__"]) not in invalid_rows][
                    :SAMPLE_ROWS
                ],
                status=Status.VALIDATED,
                message=format_summary(result),
            )
        elif result.committed:
            changes.update(status=Status.SUCCEEDED, message=format_summary(result))
            if job.created_by_id is not None:
                LogEntry.objects.create(
                    user_id=job.created_by_id,
                    content_type=ContentType.objects.get_for_model(ImportJob),
                    object_id=str(job.pk),
                    object_repr=str(job)[:200],
                    action_flag=ADDITION,
                    change_message=changes["message"],
                )
        else:
            changes.update(
                status=Status.FAILED,
                message=_(
                    "Nothing was written: %(count)d rows are invalid now (the file or the "
                    "table changed since the preview). Validate again to see them."
                )
                % {"count": result.invalid},
            )
        ImportJob.objects.filter(pk=job.pk).update(**changes)
