"""Admin imports on RQ: a real ``rqworker`` process on the local Redis runs the tasks.

RQ through django-tasks-rq is the distributed queue many sites already run. Here the test
process plays the web server (Django's test client) and a separate worker process, started
with ``python -m django rqworker`` and settings of its own (tests/settings_rq_worker.py),
checks and imports the file from the same database and media folder, publishing progress
through a Redis cache both share. Nothing is faked: the job goes through Redis.

scripts/test.sh sets ``BULK_ADMIN_TEST_REDIS`` (and ``BULK_ADMIN_EXPECT_RQ=1`` on the legs whose
environment has django-tasks-rq, so that a missing Redis fails there instead of skipping).
django-tasks-rq 0.12 is built on the django-tasks backport, so these tests run on Django 5.2.
"""

import importlib.util
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

from bulk_admin import tasks
from bulk_admin.models import ImportJob
from tests.test_views import GOOD_ROWS, HEADER, start, url, validate
from tests.testapp.models import Book

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("BULK_ADMIN_TEST_REDIS", "")
TIMEOUT = 90  # seconds for a job to finish, on a busy 2-core machine

_missing = None
if not REDIS_URL:
    _missing = "BULK_ADMIN_TEST_REDIS is not set"
elif importlib.util.find_spec("django_tasks_rq") is None:
    _missing = "django-tasks-rq is not installed"
if _missing and os.environ.get("BULK_ADMIN_EXPECT_RQ") == "1":
    raise RuntimeError(f"this leg must run the RQ tests, but {_missing}")

pytestmark = [
    pytest.mark.skipif(bool(_missing), reason=_missing or ""),
    pytest.mark.django_db(transaction=True),
]


def redis_client():
    import redis

    return redis.Redis.from_url(REDIS_URL, socket_timeout=5)


@pytest.fixture
def queue(settings, tmp_path):
    """An RQ queue of this test's own, used by the ``rq`` task backend of the test process."""
    try:
        redis_client().ping()
    except Exception as exc:
        pytest.fail(f"Redis is not answering at {REDIS_URL}: {exc}")
    name = "bulk_admin_test_%s" % uuid.uuid4().hex[:12]
    settings.MEDIA_ROOT = str(tmp_path / "media")
    # django-tasks-rq looks results up through the "default" queue's connection; nothing
    # is enqueued there.
    settings.RQ_QUEUES = {
        name: {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 300},
        "default": {"URL": REDIS_URL},
    }
    settings.TASKS = {
        **settings.TASKS,
        "rq": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": [name]},
    }
    settings.BULK_ADMIN_TASK_BACKEND = "rq"
    settings.BULK_ADMIN_TASK_QUEUE = name
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": name,
        }
    }
    yield name
    client = redis_client()
    keys = list(client.scan_iter(match=f"*{name}*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture
def worker(queue, settings, tmp_path):
    """A real RQ worker process on the test's queue, stopped (and reaped) after the test."""
    with open(tmp_path / "worker.log", "w+") as log:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings_rq_worker",
            "PYTHONPATH": str(ROOT),
            "BULK_ADMIN_TEST_RQ_QUEUE": queue,
            "BULK_ADMIN_TEST_REDIS": REDIS_URL,
            "BULK_ADMIN_TEST_WORKER_DB": str(connection.settings_dict["NAME"]),
            "BULK_ADMIN_TEST_MEDIA": settings.MEDIA_ROOT,
        }
        command = ["rqworker", "--job-class", "django_tasks_rq.Job", queue]
        process = subprocess.Popen(
            [sys.executable, "-m", "django", *command],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        process.log = log
        yield process
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def worker_log(process):
    process.log.flush()
    process.log.seek(0)
    return process.log.read()[-4000:]


def wait_for(job, statuses, process):
    """Poll the job's row until its status is one of ``statuses``; return the job."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status in statuses:
            return job
        assert process.poll() is None, "the worker died:\n" + worker_log(process)
        time.sleep(0.2)
    raise AssertionError(
        f"job still {job.status!r} after {TIMEOUT}s; worker log:\n{worker_log(process)}"
    )


def test_rq_worker_checks_and_imports(staff_client, authors, queue, worker):  # noqa: F811
    job = start(staff_client, [HEADER, *GOOD_ROWS])
    # The mapping step enqueues the check on Redis and sends the browser to the progress page.
    job = validate(staff_client, job)
    assert job.task_id
    job = wait_for(job, {ImportJob.Status.VALIDATED, ImportJob.Status.FAILED}, worker)
    assert job.status == ImportJob.Status.VALIDATED, job.message
    assert (job.rows, job.created, job.invalid) == (2, 2, 0)
    assert Book.objects.count() == 0
    status = staff_client.get(url("status", job)).json()
    assert status["status"] == "validated" and status["rows"] == 2

    response = staff_client.post(url("commit", job))
    assert response.status_code == 302
    job = wait_for(job, {ImportJob.Status.SUCCEEDED, ImportJob.Status.FAILED}, worker)
    assert job.status == ImportJob.Status.SUCCEEDED, job.message
    assert Book.objects.count() == 2
    assert Book.objects.get(isbn="9780441478125").author.name == "Ursula K. Le Guin"
    assert staff_client.get(url("status", job)).json()["status"] == "succeeded"

    # The commit task delivered a second time (a redelivery after a lost acknowledgement):
    # the worker runs it, and it changes nothing.
    task_id = tasks.enqueue(tasks.commit_import_job, job.pk)
    task = tasks.commit_import_job.using(backend="rq", queue_name=queue)
    deadline = time.monotonic() + TIMEOUT
    while task.get_result(task_id).status not in ("SUCCESSFUL", "FAILED"):
        assert time.monotonic() < deadline, worker_log(worker)
        time.sleep(0.2)
    assert task.get_result(task_id).status == "SUCCESSFUL", worker_log(worker)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.SUCCEEDED
    assert Book.objects.count() == 2


def test_rq_worker_reports_invalid_rows(staff_client, authors, worker):  # noqa: F811
    bad = [HEADER, ["9780000000001", "Bad", "Nobody Known", "lots", "1993-13-45", "maybe"]]
    job = validate(staff_client, start(staff_client, bad))
    job = wait_for(job, {ImportJob.Status.VALIDATED, ImportJob.Status.FAILED}, worker)
    assert job.invalid == 1
    response = staff_client.get(url("preview", job))
    assert response.status_code == 200
    assert not response.context_data["can_commit"]
    assert Book.objects.count() == 0
