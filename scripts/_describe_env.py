"""Print the Python, Django, tasks and database driver versions of a test leg's environment."""

import importlib.util
import sys

import django

line = f"Python {sys.version.split()[0]}, Django {django.get_version()}"
if importlib.util.find_spec("django.tasks") is not None:
    line += ", tasks: django.tasks (Django's own)"
else:
    from importlib.metadata import version

    line += f", tasks: django-tasks {version('django-tasks')} (backport)"
if sys.argv[1] == "postgres":
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    if is_psycopg3:
        import psycopg

        line += f", PostgreSQL driver: psycopg {psycopg.__version__}"
    else:
        import psycopg2

        line += f", PostgreSQL driver: psycopg2 {psycopg2.__version__.split()[0]}"
elif sys.argv[1] == "mariadb":
    import MySQLdb

    version = ".".join(map(str, MySQLdb.version_info[:3]))
    line += f", MySQL driver: mysqlclient {version} (client library {MySQLdb.get_client_info()})"
print(line)
