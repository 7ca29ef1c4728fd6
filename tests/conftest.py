import csv
import io
import json
import sys

import pytest
from django.core.management import CommandError, call_command
from django.db import connection


def pytest_collection_modifyitems(config, items):
    vendor = connection.vendor
    for item in items:
        if "postgres" in item.keywords and vendor != "postgresql":
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL"))
        if "mariadb" in item.keywords and vendor != "mysql":
            item.add_marker(pytest.mark.skip(reason="needs MariaDB"))


@pytest.fixture
def make_csv(tmp_path):
    """Write rows (first one the header) as a CSV file and return its path."""

    def make(rows, name="data.csv", encoding="utf-8", delimiter=",", newline="\n", raw=None):
        path = tmp_path / name
        if raw is not None:
            path.write_bytes(raw if isinstance(raw, bytes) else raw.encode(encoding))
            return path
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=delimiter, lineterminator=newline)
        writer.writerows(rows)
        path.write_bytes(buffer.getvalue().encode(encoding))
        return path

    return make


@pytest.fixture
def make_xlsx(tmp_path):
    """Write rows as an XLSX file (typed cells kept) and return its path."""

    def make(rows, name="data.xlsx", sheet="Sheet1", extra_sheets=None):
        import openpyxl

        workbook = openpyxl.Workbook()
        worksheet = workbook.active
        worksheet.title = sheet
        for row in rows:
            worksheet.append(list(row))
        for title, sheet_rows in (extra_sheets or {}).items():
            other = workbook.create_sheet(title)
            for row in sheet_rows:
                other.append(list(row))
        path = tmp_path / name
        workbook.save(path)
        return path

    return make


class Report(dict):
    """A ``--json`` report, knowing the exit status of the run that printed it."""

    exit_code = None


class CommandRun:
    def __init__(self, code, stdout, stderr):
        self.code = code
        self.stdout = stdout
        self.stderr = stderr

    @property
    def json(self):
        report = Report(json.loads(self.stdout))
        report.exit_code = self.code
        return report


@pytest.fixture
def bulk_import(capsys):
    """Run ``manage.py bulk_import`` in-process as from a shell; return code and output."""

    def run(*args):
        capsys.readouterr()
        code = 0
        try:
            call_command("bulk_import", *map(str, args))
        except CommandError as error:
            # What BaseCommand.run_from_argv prints and exits with from a shell.
            sys.stderr.write("%s: %s\n" % (error.__class__.__name__, error))
            code = error.returncode
        except SystemExit as exit:
            code = exit.code if isinstance(exit.code, int) else 1
        out, err = capsys.readouterr()
        return CommandRun(code, out, err)

    return run


@pytest.fixture
def authors(db):
    from tests.testapp.models import Author

    return [
        Author.objects.create(name="Ursula K. Le Guin"),
        Author.objects.create(name="Terry Pratchett"),
        Author.objects.create(name="Octavia E. Butler"),
    ]


@pytest.fixture
def upload_media(settings, tmp_path):
    """Store uploads in a folder of the test's own."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return settings.MEDIA_ROOT


@pytest.fixture
def staff(django_user_model):
    """A staff user with add and change permission on books."""
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("staff", password="pw", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="testapp",
            codename__in=["add_book", "change_book", "view_book"],
        )
    )
    return user


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client
