"""System checks of the BULK_ADMIN_* settings: bulk_admin/checks.py (E001 to E009)."""

import subprocess
import sys
import textwrap

import pytest
from django.core.checks import Error, run_checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from bulk_admin.checks import check_settings
from bulk_admin.conf import Settings

POSITIVE = ["CHUNK_SIZE", "BATCH_SIZE", "MAX_COLUMNS", "MAX_CELL_SIZE", "PREFETCH_LIMIT"]
NON_NEGATIVE = [
    "MAX_FILE_SIZE",
    "MAX_ROWS",
    "MAX_XLSX_UNCOMPRESSED",
    "MAX_ERRORS",
    "MAX_STORED_ERRORS",
    "XLSX_MAX_CALAMINE_CELLS",
    "UPLOAD_RETENTION_DAYS",
]


def integer_settings():
    """The names of every integer setting of bulk_admin.conf, found from their defaults."""
    names = [name for name, value in vars(Settings).items() if isinstance(value, property)]
    values = {name: getattr(Settings(), name) for name in names}
    return [name for name, value in values.items() if type(value) is int]


def ids(errors):
    return [error.id for error in errors]


def test_default_settings_pass():
    assert check_settings() == []


def test_the_check_is_registered(settings):
    # Django's own registry runs it: a bad setting comes back from run_checks.
    settings.BULK_ADMIN_CHUNK_SIZE = 0
    assert "bulk_admin.E001" in ids(run_checks(tags=["compatibility"]))
    settings.BULK_ADMIN_CHUNK_SIZE = 10
    assert "bulk_admin.E001" not in ids(run_checks(tags=["compatibility"]))


def test_every_integer_setting_is_checked():
    assert sorted(integer_settings()) == sorted(POSITIVE + NON_NEGATIVE)


@pytest.mark.parametrize("name", POSITIVE)
@pytest.mark.parametrize("value", [0, -1, "lots", "100", 1.5, None, True])
def test_e001_positive_integers(settings, name, value):
    setattr(settings, "BULK_ADMIN_" + name, value)
    assert check_settings() == [
        Error(
            f"BULK_ADMIN_{name} must be an integer of at least 1, not {value!r}.",
            hint=f"Set BULK_ADMIN_{name} to a whole number, or remove it to use the default.",
            id="bulk_admin.E001",
        )
    ]


@pytest.mark.parametrize("name", NON_NEGATIVE)
@pytest.mark.parametrize("value", [-1, "lots", "0", 2.5, None, False])
def test_e001_non_negative_integers(settings, name, value):
    setattr(settings, "BULK_ADMIN_" + name, value)
    assert check_settings() == [
        Error(
            f"BULK_ADMIN_{name} must be an integer of at least 0, not {value!r}.",
            hint=f"Set BULK_ADMIN_{name} to a whole number, or remove it to use the default.",
            id="bulk_admin.E001",
        )
    ]


@pytest.mark.parametrize("name", POSITIVE)
def test_positive_integers_accept_one(settings, name):
    setattr(settings, "BULK_ADMIN_" + name, 1)
    assert check_settings() == []


@pytest.mark.parametrize("name", NON_NEGATIVE)
def test_non_negative_integers_accept_zero(settings, name):
    setattr(settings, "BULK_ADMIN_" + name, 0)
    assert check_settings() == []


def test_every_bad_setting_is_reported(settings):
    settings.BULK_ADMIN_CHUNK_SIZE = 0
    settings.BULK_ADMIN_MAX_ROWS = -5
    settings.BULK_ADMIN_XLSX_READER = "xlrd"
    errors = check_settings()
    assert ids(errors) == ["bulk_admin.E001", "bulk_admin.E001", "bulk_admin.E002"]
    assert [error.msg.split()[0] for error in errors] == [
        "BULK_ADMIN_CHUNK_SIZE",
        "BULK_ADMIN_MAX_ROWS",
        "BULK_ADMIN_XLSX_READER",
    ]


@pytest.mark.parametrize("reader", ["auto", "calamine", "openpyxl", "stream"])
def test_known_readers_pass(settings, reader):
    settings.BULK_ADMIN_XLSX_READER = reader
    assert check_settings() == []


@pytest.mark.parametrize("reader", ["xlrd", "Calamine", "", None])
def test_e002_unknown_reader(settings, reader):
    settings.BULK_ADMIN_XLSX_READER = reader
    assert check_settings() == [
        Error(
            f"BULK_ADMIN_XLSX_READER must be one of auto, calamine, openpyxl, stream, not "
            f"{reader!r}.",
            id="bulk_admin.E002",
        )
    ]


def test_e003_calamine_chosen_but_not_installed(settings, monkeypatch):
    monkeypatch.setitem(sys.modules, "python_calamine", None)  # import fails
    settings.BULK_ADMIN_XLSX_READER = "calamine"
    assert check_settings() == [
        Error(
            "BULK_ADMIN_XLSX_READER is 'calamine' but python-calamine is not installed.",
            hint="pip install python-calamine, or set the reader to 'auto'.",
            id="bulk_admin.E003",
        )
    ]


@pytest.mark.parametrize("reader", ["auto", "openpyxl"])
def test_no_calamine_is_fine_for_other_readers(settings, monkeypatch, reader):
    monkeypatch.setitem(sys.modules, "python_calamine", None)
    settings.BULK_ADMIN_XLSX_READER = reader
    assert check_settings() == []


def test_manage_py_check_fails_on_a_bad_setting(settings):
    settings.BULK_ADMIN_BATCH_SIZE = "big"
    with pytest.raises(SystemCheckError) as excinfo:
        call_command("check")
    assert "bulk_admin.E001" in str(excinfo.value)
    assert "BULK_ADMIN_BATCH_SIZE must be an integer of at least 1, not 'big'." in str(
        excinfo.value
    )


def test_checked_messages_are_sentences(settings, monkeypatch):
    settings.BULK_ADMIN_CHUNK_SIZE = -1
    settings.BULK_ADMIN_XLSX_READER = "xlrd"
    errors = check_settings()
    settings.BULK_ADMIN_XLSX_READER = "calamine"
    monkeypatch.setitem(sys.modules, "python_calamine", None)
    errors += check_settings()
    assert ids(errors) == [
        "bulk_admin.E001",
        "bulk_admin.E002",
        "bulk_admin.E001",
        "bulk_admin.E003",
    ]
    for error in errors:
        assert error.msg.startswith("BULK_ADMIN_") and error.msg.endswith("."), error.msg
        assert error.hint is None or error.hint.endswith("."), error.hint


def test_a_project_without_the_admin_passes_the_checks():
    # bulk_import works without django.contrib.admin; `check` must not crash there.
    code = (
        "import django; from django.conf import settings; "
        "settings.configure(INSTALLED_APPS=['django.contrib.contenttypes', "
        "'django.contrib.auth', 'bulk_admin'], DATABASES={'default': {'ENGINE': "
        "'django.db.backends.sqlite3', 'NAME': ':memory:'}}); django.setup(); "
        "from django.core.management import call_command; call_command('check')"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "System check identified no issues" in done.stdout


def test_the_task_backend_must_exist(settings):
    from bulk_admin.checks import check_tasks

    assert check_tasks() == []
    settings.BULK_ADMIN_TASK_BACKEND = "nowhere"
    assert ids(check_tasks()) == ["bulk_admin.E008"]


def test_the_task_queue_must_be_one_of_the_backends(settings):
    from bulk_admin.checks import check_tasks

    immediate = settings.TASKS["default"]["BACKEND"]
    settings.TASKS = {"default": {"BACKEND": immediate, "QUEUES": ["imports"]}}
    errors = check_tasks()
    assert ids(errors) == ["bulk_admin.E009"]
    assert "'default'" in errors[0].msg and "'imports'" in errors[0].msg
    settings.BULK_ADMIN_TASK_QUEUE = "imports"
    assert check_tasks() == []
    settings.TASKS = {"default": {"BACKEND": immediate, "QUEUES": []}}  # any queue
    settings.BULK_ADMIN_TASK_QUEUE = "anything"
    assert check_tasks() == []


def test_the_tasks_are_declared_on_the_admins_queue():
    # A backend without a "default" queue: the tasks module imports (the framework checks a
    # task's queue when it is declared) and its tasks go to BULK_ADMIN_TASK_QUEUE.
    code = textwrap.dedent(
        """
        import importlib.util

        import django
        from django.conf import settings

        backport = importlib.util.find_spec("django_tasks") is not None
        module = "django_tasks" if backport else "django.tasks"
        settings.configure(
            INSTALLED_APPS=[
                "django.contrib.admin",
                "django.contrib.contenttypes",
                "django.contrib.auth",
                "bulk_admin",
                *(["django_tasks"] if backport else []),
            ],
            DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
            TASKS={
                "default": {
                    "BACKEND": module + ".backends.immediate.ImmediateBackend",
                    "QUEUES": ["imports"],
                }
            },
            BULK_ADMIN_TASK_QUEUE="imports",
        )
        django.setup()
        from bulk_admin import tasks

        print(tasks.validate_import_job.queue_name, tasks.commit_import_job.queue_name)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["imports", "imports"]
