"""The test legs really run on the database and driver they claim (see scripts/test.sh)."""

import os

import pytest
from django.db import connection

VENDORS = {"sqlite": "sqlite", "postgres": "postgresql", "mariadb": "mysql"}


def test_database_vendor():
    expected = VENDORS[os.environ.get("BULK_ADMIN_TEST_DB", "sqlite")]
    assert connection.vendor == expected


@pytest.mark.django_db
def test_mariadb_is_mariadb():
    if connection.vendor != "mysql":
        pytest.skip("not a MariaDB leg")
    assert connection.mysql_is_mariadb


@pytest.mark.django_db
def test_postgresql_driver():
    expected = os.environ.get("BULK_ADMIN_EXPECT_DRIVER")
    if connection.vendor != "postgresql" or not expected:
        pytest.skip("not a PostgreSQL leg with BULK_ADMIN_EXPECT_DRIVER set")
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    assert expected in ("psycopg", "psycopg2"), expected
    assert is_psycopg3 == (expected == "psycopg")
    connection.ensure_connection()
    # The DB-API connection object comes from the driver's own module.
    assert type(connection.connection).__module__.split(".")[0] == expected


def test_django_version():
    """Each leg runs the Django feature release scripts/test.sh says (5.2 or 6.1)."""
    import django

    expected = os.environ.get("BULK_ADMIN_EXPECT_DJANGO")
    if not expected:
        pytest.skip("BULK_ADMIN_EXPECT_DJANGO not set (pytest run outside scripts/test.sh)")
    assert "%d.%d" % django.VERSION[:2] == expected


def test_tasks_framework():
    """Django 6 runs its own django.tasks, without the backport; 5.2 runs the backport."""
    import importlib.util

    import django
    from django.conf import settings

    from bulk_admin import tasks

    task_module = type(tasks.commit_import_job).__module__
    if django.VERSION >= (6, 0):
        assert task_module.startswith("django.tasks."), task_module
        assert settings.TASKS["default"]["BACKEND"].startswith("django.tasks.")
        if os.environ.get("BULK_ADMIN_EXPECT_DJANGO"):  # The django6 leg has no backport.
            assert importlib.util.find_spec("django_tasks") is None
    else:
        assert task_module.startswith("django_tasks."), task_module
        assert "django_tasks" in settings.INSTALLED_APPS
