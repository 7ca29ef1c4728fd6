"""Project settings: bulk_admin/conf.py reads BULK_ADMIN_* settings when accessed."""

import re
from pathlib import Path

import pytest
from django.test import override_settings

from bulk_admin.conf import Settings, conf

DEFAULTS = {
    "CHUNK_SIZE": 10_000,
    "BATCH_SIZE": 1_000,
    "MAX_FILE_SIZE": 512 * 1024 * 1024,
    "MAX_ROWS": 0,
    "MAX_COLUMNS": 1_000,
    "MAX_CELL_SIZE": 16 * 1024 * 1024,
    "MAX_XLSX_UNCOMPRESSED": 1024 * 1024 * 1024,
    "MAX_ERRORS": 0,
    "XLSX_READER": "auto",
}
SETTINGS_DOC = Path(__file__).parent.parent / "docs" / "settings.md"


def setting_names():
    return [name for name, value in vars(Settings).items() if isinstance(value, property)]


@pytest.fixture
def no_overrides(settings):
    """Settings without any BULK_ADMIN_* value, whatever tests/settings.py holds."""
    for name in setting_names():
        if hasattr(settings, "BULK_ADMIN_" + name):
            delattr(settings, "BULK_ADMIN_" + name)
    return settings


@pytest.mark.parametrize(("name", "default"), DEFAULTS.items())
def test_defaults(no_overrides, name, default):
    value = getattr(conf, name)
    assert value == default
    assert type(value) is type(default)


@pytest.mark.parametrize("name", setting_names())
def test_every_setting_is_documented_with_its_default(no_overrides, name):
    text = SETTINGS_DOC.read_text()
    match = re.search(rf"^## `BULK_ADMIN_{name}`\n\nDefault: `([^`]*)`", text, re.MULTILINE)
    assert match, f"BULK_ADMIN_{name} is not in docs/settings.md"
    assert match.group(1) in (str(getattr(conf, name)), '"%s"' % getattr(conf, name))


@pytest.mark.parametrize(
    "name", [name for name, default in DEFAULTS.items() if isinstance(default, int)]
)
def test_integer_settings_are_read_when_accessed(settings, name):
    setattr(settings, "BULK_ADMIN_" + name, 7)
    assert getattr(conf, name) == 7
    setattr(settings, "BULK_ADMIN_" + name, 8)
    assert getattr(conf, name) == 8  # nothing is cached
    setattr(settings, "BULK_ADMIN_" + name, "9")
    assert getattr(conf, name) == 9


def test_override_settings_is_seen():
    with override_settings(BULK_ADMIN_XLSX_READER="openpyxl", BULK_ADMIN_CHUNK_SIZE=5):
        assert conf.XLSX_READER == "openpyxl"
        assert conf.CHUNK_SIZE == 5
    assert conf.CHUNK_SIZE != 5


def test_a_fresh_settings_object_reads_the_same(settings):
    settings.BULK_ADMIN_MAX_ROWS = 42
    assert Settings().MAX_ROWS == conf.MAX_ROWS == 42


def test_the_engine_reads_the_settings_live(settings):
    """A limit set after import is applied by the next read (sources use conf, not copies)."""
    import io

    from bulk_admin.exceptions import SourceError
    from bulk_admin.sources import open_source

    data = b"a\n1\n2\n"
    with open_source(io.BytesIO(data)) as source:
        assert len(list(source.rows())) == 2
    settings.BULK_ADMIN_MAX_ROWS = 1
    with open_source(io.BytesIO(data)) as source, pytest.raises(SourceError):
        list(source.rows())
