"""Settings of the RQ worker process that tests/test_rq.py starts.

The test settings, plus django-rq and django-tasks-rq, the test's queue on its Redis, a Redis
cache shared with the test process, and the test database the test process created.
"""

import os

from tests.settings import *  # noqa: F403
from tests.settings import DATABASES, INSTALLED_APPS, TASKS

QUEUE = os.environ["BULK_ADMIN_TEST_RQ_QUEUE"]
REDIS_URL = os.environ["BULK_ADMIN_TEST_REDIS"]

INSTALLED_APPS = [*INSTALLED_APPS, "django_rq", "django_tasks_rq"]
RQ_QUEUES = {QUEUE: {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 300}, "default": {"URL": REDIS_URL}}
TASKS = {**TASKS, "rq": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": [QUEUE]}}
BULK_ADMIN_TASK_BACKEND = "rq"
BULK_ADMIN_TASK_QUEUE = QUEUE
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": QUEUE,
    }
}
# The test database (test_..., or the SQLite test file), not the one it was made from.
DATABASES["default"]["NAME"] = os.environ["BULK_ADMIN_TEST_WORKER_DB"]
