"""Settings of the example project: SQLite by default, PostgreSQL when DATABASE_URL is set.

    DATABASE_URL=postgres://USER:PASSWORD@HOST:PORT/NAME
    BULK_ADMIN_DEMO_WORKER=db     # imports run in django-tasks-db's db_worker
    BULK_ADMIN_DEMO_WORKER=rq     # imports run in an RQ worker on REDIS_URL (django-tasks-rq)

Without BULK_ADMIN_DEMO_WORKER, imports run inside the request (the immediate backend).
``WORKER=1 bash scripts/demo.sh`` sets all of this up. This is a demo for a local machine
(DEBUG on, a fixed secret key), not a deployment template.
"""

import importlib.util
import os
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "bulk-admin-demo-not-a-secret")
DEBUG = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "bulk_admin",
    "library",
]
# Only to show both side by side: bulk_admin itself does not need django-import-export.
if importlib.util.find_spec("import_export") is not None:
    INSTALLED_APPS.insert(INSTALLED_APPS.index("bulk_admin"), "import_export")
# Django 6 has django.tasks built in; on Django 5.2 the django-tasks backport is an app.
if importlib.util.find_spec("django.tasks") is None:
    INSTALLED_APPS.insert(INSTALLED_APPS.index("bulk_admin"), "django_tasks")
    _TASKS_MODULE = "django_tasks"
else:
    _TASKS_MODULE = "django.tasks"

WORKER = os.environ.get("BULK_ADMIN_DEMO_WORKER", "")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
if WORKER == "db":
    # Jobs wait in a database table until `manage.py db_worker` runs them. The progress bar
    # and Cancel need a cache that the web server and the worker share: here a folder both
    # read (on several machines: Redis or Memcached). Not the database cache: its writes
    # would go through the connection that is feeding COPY, which blocks on psycopg 3.
    INSTALLED_APPS.append("django_tasks_db")
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": os.environ.get("BULK_ADMIN_EXAMPLE_CACHE") or BASE_DIR / "cache",
        }
    }
elif WORKER == "rq":
    # Jobs go to Redis; `manage.py rqworker --job-class django_tasks_rq.Job` runs them.
    INSTALLED_APPS += ["django_rq", "django_tasks_rq"]
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    RQ_QUEUES = {"default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 3600}}
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
        }
    }
elif WORKER:
    raise ImproperlyConfigured(f"BULK_ADMIN_DEMO_WORKER must be db or rq, not {WORKER!r}")
else:
    # Imports run in the request that starts them.
    TASKS = {"default": {"BACKEND": f"{_TASKS_MODULE}.backends.immediate.ImmediateBackend"}}

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "demo_site.urls"
WSGI_APPLICATION = "demo_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]


def database_from_url(url):
    """Return a DATABASES entry for a postgres:// or postgresql:// URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise ImproperlyConfigured(
            f"DATABASE_URL must start with postgres:// or postgresql://, not {parts.scheme}://"
        )
    name = unquote(parts.path.lstrip("/"))
    if not name:
        raise ImproperlyConfigured("DATABASE_URL names no database (postgres://HOST/NAME).")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
        # For example ?sslmode=require.
        "OPTIONS": dict(parse_qsl(parts.query)),
    }


if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": database_from_url(os.environ["DATABASE_URL"])}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("BULK_ADMIN_EXAMPLE_DB") or BASE_DIR / "db.sqlite3",
            # WAL lets the progress page read while an import writes.
            "OPTIONS": {"init_command": "PRAGMA journal_mode=wal;"},
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = []  # The demo login is demo / demo.

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# `manage.py collectstatic` copies the admin's and bulk_admin's files here for a web server.
STATIC_ROOT = os.environ.get("BULK_ADMIN_EXAMPLE_STATIC") or BASE_DIR / "static"
MEDIA_ROOT = os.environ.get("BULK_ADMIN_EXAMPLE_MEDIA") or BASE_DIR / "media"
MEDIA_URL = "media/"
