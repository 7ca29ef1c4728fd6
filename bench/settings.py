"""Django settings of the benchmark: PostgreSQL only, the database ``bulk_admin_bench``.

``BENCH_PG*`` environment variables override the connection (default: postgres on
127.0.0.1:5432, no password).
"""

import os

SECRET_KEY = "bulk-admin-bench"
DEBUG = False  # DEBUG=True would keep every query in memory
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "import_export",
    "bench.books",
    "bench.flights",
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("BENCH_PGDATABASE", "bulk_admin_bench"),
        "USER": os.environ.get("BENCH_PGUSER", "postgres"),
        "PASSWORD": os.environ.get("BENCH_PGPASSWORD", ""),
        "HOST": os.environ.get("BENCH_PGHOST", "127.0.0.1"),
        "PORT": os.environ.get("BENCH_PGPORT", "5432"),
    }
}

# BENCH_DB=sqlite or mariadb: the bulk_create runs on the other databases (tables made by
# the child itself).
if os.environ.get("BENCH_DB") == "sqlite":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.path.join(os.path.dirname(__file__), "data", "bench.sqlite3"),
        }
    }
elif os.environ.get("BENCH_DB") == "mariadb":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.mysql",
            "NAME": os.environ.get("BENCH_MYSQL_DATABASE", "bulk_admin_bench"),
            "USER": "root",
            "PASSWORD": "",
            "HOST": "127.0.0.1",
            "PORT": "3306",
            "OPTIONS": {"charset": "utf8mb4"},
        }
    }

# The XLSX reader of bulk_admin ("auto" = python-calamine when installed).
BULK_ADMIN_XLSX_READER = os.environ.get("BENCH_XLSX_READER", "auto")
BULK_ADMIN_STREAM_COPY = os.environ.get("BENCH_STREAM_COPY", "1") == "1"
