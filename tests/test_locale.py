"""The shipped catalogues: complete, compiled, in step with the source, and used by the admin."""

import gettext
import re
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

PACKAGE = Path(__file__).resolve().parent.parent / "bulk_admin"
LANGUAGES = ["fr", "de", "es"]
PLACEHOLDER = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[sdif]")


def catalogue(language):
    return polib.pofile(str(PACKAGE / "locale" / language / "LC_MESSAGES" / "django.po"))


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogue_is_complete(language):
    po = catalogue(language)
    assert po.metadata["Language"] == language
    assert "nplurals=2" in po.metadata["Plural-Forms"]
    assert len(po) > 100
    assert not po.untranslated_entries(), [e.msgid for e in po.untranslated_entries()]
    assert not po.fuzzy_entries(), [e.msgid for e in po.fuzzy_entries()]
    assert not po.obsolete_entries()


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_the_placeholders(language):
    for entry in catalogue(language):
        expected = set(PLACEHOLDER.findall(entry.msgid + (entry.msgid_plural or "")))
        translations = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
        for text in translations:
            assert set(PLACEHOLDER.findall(text)) <= expected, (entry.msgid, text)
        if not entry.msgid_plural:
            assert set(PLACEHOLDER.findall(entry.msgstr)) == expected, (entry.msgid, entry.msgstr)
        else:  # The plural form must name every placeholder, the count included.
            assert set(PLACEHOLDER.findall(entry.msgstr_plural[1])) == expected, entry.msgid


@pytest.mark.parametrize("language", LANGUAGES)
def test_committed_mo_matches_po(language, tmp_path):
    """The .mo in the repository (and the wheel) is the compiled .po, not an older one."""
    folder = PACKAGE / "locale" / language / "LC_MESSAGES"
    fresh = tmp_path / "django.mo"
    catalogue(language).save_as_mofile(str(fresh))
    with open(folder / "django.mo", "rb") as committed, open(fresh, "rb") as compiled:
        shipped = gettext.GNUTranslations(committed)._catalog
        expected = gettext.GNUTranslations(compiled)._catalog
    # The header ("") differs between compilers (msgfmt drops some fields); the messages must not.
    shipped.pop("", None)
    expected.pop("", None)
    assert shipped == expected, "run compilemessages in bulk_admin/ (see DEVELOPERS.md)"


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="GNU gettext is not installed")
def test_catalogues_cover_every_marked_string(tmp_path):
    """makemessages finds no string in the source that the catalogues lack."""
    copy = tmp_path / "bulk_admin"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("locale", "__pycache__"))
    (copy / "locale").mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "django", "makemessages", "-l", "fr"],
        cwd=copy,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": ""},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    found = polib.pofile(str(copy / "locale" / "fr" / "LC_MESSAGES" / "django.po"))
    shipped = {(e.msgctxt, e.msgid, e.msgid_plural) for e in catalogue("fr")}
    missing = [e.msgid for e in found if (e.msgctxt, e.msgid, e.msgid_plural) not in shipped]
    assert not missing, "run makemessages and translate (see DEVELOPERS.md): %r" % missing


@pytest.mark.django_db
@pytest.mark.parametrize(
    "language, words",
    [
        ("fr", ["Importer des books (rapide)", "Envoyer et associer les colonnes", "Accueil"]),
        ("de", ["books importieren (schnell)", "Hochladen und Spalten zuordnen", "Start"]),
        ("es", ["Importar books (rápido)", "Subir y asignar columnas", "Inicio"]),
    ],
)
def test_upload_page_in_each_language(client, django_user_model, settings, language, words):
    settings.LANGUAGE_CODE = language
    user = django_user_model.objects.create_user("staff", password="pw", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="testapp", codename="add_book")
    )
    client.force_login(user)
    page = client.get(reverse("admin:testapp_book_bulk_import")).content.decode()
    for text in words:
        assert text in page
    assert "Upload and map columns" not in page
