"""Test settings: SQLite by default; BULK_ADMIN_TEST_DB=postgres|mariadb for the other legs."""

import importlib.util
import os

SECRET_KEY = "bulk-admin-tests"
DEBUG = False
USE_TZ = True
TIME_ZONE = "Europe/Paris"
ROOT_URLCONF = "tests.urls"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "import_export",
    "django_tasks_db",
    "bulk_admin",
    "tests.testapp",
]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

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

STATIC_URL = "/static/"
# Django 6's own django.tasks where it exists (the django6 leg runs without the backport);
# the django-tasks backport, an app of its own, on Django 5.2.
if importlib.util.find_spec("django.tasks") is None:
    INSTALLED_APPS.insert(INSTALLED_APPS.index("bulk_admin"), "django_tasks")
    TASKS_MODULE = "django_tasks"
else:
    TASKS_MODULE = "django.tasks"
TASKS = {
    "default": {"BACKEND": f"{TASKS_MODULE}.backends.immediate.ImmediateBackend"},
    # A real worker process: the browser tests start ``db_worker --backend worker``.
    "worker": {"BACKEND": "django_tasks_db.DatabaseBackend"},
}
# What the worker tests set for the worker process they start.
if os.environ.get("BULK_ADMIN_TEST_CHUNK_SIZE"):
    BULK_ADMIN_CHUNK_SIZE = int(os.environ["BULK_ADMIN_TEST_CHUNK_SIZE"])
if os.environ.get("BULK_ADMIN_TEST_HEARTBEAT_INTERVAL"):
    BULK_ADMIN_HEARTBEAT_INTERVAL = float(os.environ["BULK_ADMIN_TEST_HEARTBEAT_INTERVAL"])
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
if os.environ.get("BULK_ADMIN_TEST_CACHE_DIR"):  # shared with the test's live server
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": os.environ["BULK_ADMIN_TEST_CACHE_DIR"],
        }
    }
MEDIA_ROOT = os.environ.get("BULK_ADMIN_TEST_MEDIA", "/tmp/bulk_admin_test_media")

_DB = os.environ.get("BULK_ADMIN_TEST_DB", "sqlite")
# One test database per run, so that runs side by side (two legs, two developers) never
# share or destroy each other's database.
_TEST_NAME = os.environ.get("BULK_ADMIN_TEST_DB_NAME") or "test_bulk_admin_%d" % os.getpid()
if _DB == "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ.get("PGDATABASE", "test"),
            "USER": os.environ.get("PGUSER", "postgres"),
            "PASSWORD": os.environ.get("PGPASSWORD", ""),
            "HOST": os.environ.get("PGHOST", "127.0.0.1"),
            "PORT": os.environ.get("PGPORT", "5432"),
            "TEST": {"NAME": _TEST_NAME},
        }
    }
elif _DB == "mariadb":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.mysql",
            "NAME": os.environ.get("BULK_ADMIN_TEST_MARIADB_NAME", "test"),
            "USER": "root",
            "PASSWORD": "",
            "HOST": "127.0.0.1",
            "PORT": "3306",
            "OPTIONS": {"charset": "utf8mb4"},
            "TEST": {"NAME": _TEST_NAME, "CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"},
        }
    }
elif _DB == "sqlite":
    # A file name lets a subprocess (tests/test_command.py) share tables with ``migrate``.
    # The test database is a file too (one per run), in WAL mode: the browser tests'
    # live server answers the progress polls in other threads while an import writes,
    # and an in-memory database would share one connection between those threads.
    import tempfile

    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("BULK_ADMIN_TEST_SQLITE_NAME", ":memory:"),
            "OPTIONS": {"init_command": "PRAGMA journal_mode=wal;"},
            "TEST": {
                "NAME": os.environ.get("BULK_ADMIN_TEST_SQLITE_TEST_NAME")
                or os.path.join(tempfile.gettempdir(), "bulk_admin_test_%d.sqlite3" % os.getpid())
            },
        }
    }
else:
    raise RuntimeError(f"Unknown BULK_ADMIN_TEST_DB {_DB!r}")

# A second database of the same server, for the tests whose router sends the test app's
# models there while the import jobs stay in "default" (tests/routers.py). Its test database
# is created only for the tests that ask for it.
DATABASES["other"] = {
    **DATABASES["default"],
    "TEST": {
        **DATABASES["default"]["TEST"],
        "NAME": DATABASES["default"]["TEST"]["NAME"].replace(".sqlite3", "")
        + ("_other.sqlite3" if _DB == "sqlite" else "_other"),
    },
}

# A child process of a test (tests/fuzz/worker.py) works in the test database of its parent.
if os.environ.get("BULK_ADMIN_WORKER_DB_NAME"):
    DATABASES["default"]["NAME"] = os.environ["BULK_ADMIN_WORKER_DB_NAME"]
