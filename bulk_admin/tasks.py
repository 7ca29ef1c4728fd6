"""Tasks of Django's Tasks framework that run an admin import job.

``django.tasks`` on Django 6, the ``django-tasks`` backport on Django 5.2. With the
immediate backend the job runs inside the request that enqueues it; with a worker
backend (``django_tasks_db``, RQ, Celery...) it runs in the background while the admin
page polls its progress.
"""

from __future__ import annotations

from typing import Any

try:
    from django.tasks import task
except ImportError:  # Django < 6: the backport
    from django_tasks import task  # type: ignore[no-redef]

from bulk_admin.conf import conf
from bulk_admin.jobs import run_job


# Declared on the admin's backend and queue (the framework checks them here, at import): the
# backend's "default" queue may not exist. bulk_admin.E008/E009 report a mismatch at startup.
@task(backend=conf.TASK_BACKEND, queue_name=conf.TASK_QUEUE)
def validate_import_job(job_id: str) -> str:
    """Check every row of the job's file without writing; store counts and errors."""
    return run_job(job_id, commit=False)


@task(backend=conf.TASK_BACKEND, queue_name=conf.TASK_QUEUE)
def commit_import_job(job_id: str) -> str:
    """Import the job's file into its model."""
    return run_job(job_id, commit=True)


def enqueue(task_object: Any, job_id: Any) -> str:
    """Enqueue ``task_object`` for ``job_id``; return the task result's id.

    The backend is ``BULK_ADMIN_TASK_BACKEND``, the queue ``BULK_ADMIN_TASK_QUEUE``.
    """
    task = task_object.using(backend=conf.TASK_BACKEND, queue_name=conf.TASK_QUEUE)
    result = task.enqueue(str(job_id))
    return str(result.id)
