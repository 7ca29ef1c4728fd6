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
