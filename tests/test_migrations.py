"""The models and their migrations agree (a model change without a migration fails here)."""

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_no_missing_migrations(capsys):
    call_command("makemigrations", "bulk_admin", "testapp", "--check", "--dry-run", verbosity=1)
    assert "No changes detected" in capsys.readouterr().out
