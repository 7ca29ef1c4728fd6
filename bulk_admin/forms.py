"""Forms of the admin import steps: upload, mapping, commit."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from django import forms
from django.db import models
from django.template.defaultfilters import filesizeformat
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from bulk_admin.exceptions import MappingError, OptionError
from bulk_admin.mapping import build_mapping
from bulk_admin.reading import ReadingOptions

POLICY_LABELS = {
    "error": _("Report rows whose key already exists as errors"),
    "skip": _("Skip rows whose key already exists (keep the existing row)"),
    "update": _("Update existing rows whose key matches"),
}
ENCODINGS = [
    ("auto", _("Detect automatically")),
    ("utf-8", "UTF-8"),
    ("cp1252", _("Windows Western (cp1252)")),
    ("latin-1", "ISO-8859-1 (Latin-1)"),
    ("utf-16", "UTF-16"),
    ("mac_roman", "Mac Roman"),
]
DELIMITERS = [
    ("auto", _("Detect automatically")),
    (",", _("Comma (,)")),
    (";", _("Semicolon (;)")),
    ("\t", _("Tab")),
    ("|", _("Pipe (|)")),
]


SEPARATORS = [
    ("", _("As in the file (a dot for decimals)")),
    (",", _("comma (,)")),
    (".", _("dot (.)")),
    (" ", _("space")),
    ("'", _("apostrophe (')")),
]


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("File"),
        help_text=_("A CSV file or an Excel workbook (.xlsx)."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.tsv,.xlsx,.xlsm"}),
    )
    # "radiolist": the admin's own radio style (AdminRadioSelect), one option per line.
    on_conflict = forms.ChoiceField(
        label=_("Existing rows"), widget=forms.RadioSelect(attrs={"class": "radiolist"})
    )
    encoding = forms.ChoiceField(
        label=_("Encoding"), choices=ENCODINGS, initial="auto", required=False
    )
    delimiter = forms.ChoiceField(
        label=_("Delimiter"), choices=DELIMITERS, initial="auto", required=False
    )
    sheet = forms.CharField(
        label=_("Sheet"),
        required=False,
        max_length=100,
        help_text=_("For workbooks: the sheet's name or number; the first sheet by default."),
    )

    null_values = forms.CharField(
        label=_("Empty markers"),
        required=False,
        max_length=200,
        help_text=_("Texts that mean “no value”, separated by commas, such as NA, N/A."),
    )
    date_formats = forms.CharField(
        label=_("Date formats"),
        required=False,
        max_length=200,
        help_text=_(
            "strptime formats tried after ISO 8601, separated by commas, such as %d/%m/%Y. "
            "By default, the formats of the admin's language."
        ),
    )
    datetime_formats = forms.CharField(
        label=_("Date and time formats"), required=False, max_length=200
    )
    decimal_separator = forms.ChoiceField(
        label=_("Decimal separator"), choices=SEPARATORS, required=False
    )
    thousands_separator = forms.ChoiceField(
        label=_("Thousands separator"), choices=SEPARATORS, required=False
    )
    true_values = forms.CharField(
        label=_("Words for true"),
        required=False,
        max_length=200,
        help_text=_("Beside true, yes, 1, on, x; separated by commas."),
    )
    false_values = forms.CharField(
        label=_("Words for false"),
        required=False,
        max_length=200,
        help_text=_("Beside false, no, 0, off; separated by commas."),
    )

    READING_FIELDS = (
        "null_values",
        "date_formats",
        "datetime_formats",
        "decimal_separator",
        "thousands_separator",
        "true_values",
        "false_values",
    )

    def __init__(self, *args: Any, policies: Sequence[str], max_size: int, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.max_size = max_size
        cast(forms.ChoiceField, self.fields["on_conflict"]).choices = [
            (policy, POLICY_LABELS[policy]) for policy in policies
        ]
        self.fields["on_conflict"].initial = policies[0]
        if max_size:
            self.fields["file"].help_text = _(
                "A CSV file or an Excel workbook (.xlsx), up to %(size)s."
            ) % {"size": filesizeformat(max_size)}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        data: dict[str, Any] = {}
        for name in self.READING_FIELDS:
            value = cleaned.get(name) or ""
            if name.endswith("_separator"):
                data[name] = value or None
            else:
                data[name] = [part.strip() for part in value.split(",") if part.strip()]
        try:
            cleaned["reading"] = ReadingOptions.from_dict(data).as_dict()
        except OptionError as exc:
            raise forms.ValidationError(str(exc)) from None
        return cleaned

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if self.max_size and upload.size > self.max_size:
            raise forms.ValidationError(
                _("The file is %(size)s; the most this site accepts is %(max)s."),
                code="too_large",
                params={"size": filesizeformat(upload.size), "max": filesizeformat(self.max_size)},
            )
        if upload.size == 0:
            raise forms.ValidationError(_("The file is empty."), code="empty")
        return upload


def field_choices(
    model: type[models.Model],
    fields: Mapping[str, models.Field],  # type: ignore[type-arg]
) -> list[tuple[str, str]]:
    """Return ``(path, label)`` choices of the fields; foreign keys once per unique field."""
    choices: list[tuple[str, str]] = []
    for name, field in fields.items():
        label = capfirst(str(field.verbose_name))
        if (
            field.is_relation
            and field.related_model is not None
            and not isinstance(field.related_model, str)
        ):
            related = field.related_model
            choices.append((name, "%s (%s)" % (label, _("by id"))))
            for related_field in related._meta.concrete_fields:
                if (
                    related_field.unique
                    and not related_field.primary_key
                    and not related_field.is_relation
                ):
                    choices.append(
                        (
                            "%s__%s" % (name, related_field.name),
                            "%s (%s)"
                            % (label, _("by %(field)s") % {"field": related_field.verbose_name}),
                        )
                    )
        else:
            choices.append((name, label))
    return choices


class MappingForm(forms.Form):
    """One select per column of the file: which field it feeds, or "ignore"."""

    def __init__(
        self,
        *args: Any,
        model: type[models.Model],
        headers: Sequence[str],
        fields: Mapping[str, models.Field],  # type: ignore[type-arg]
        initial_mapping: Mapping[str, str],
        samples: Sequence[Sequence[str]] = (),
        aliases: Mapping[str, str] | None = None,
        fk_lookups: Mapping[str, str] | None = None,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self.model = model
        self.headers = list(headers)
        self.importable = fields
        self.aliases = aliases
        self.fk_lookups = fk_lookups
        choices = [("", _("— ignore this column —")), *field_choices(model, fields)]
        known = {value for value, _label in choices}
        self.columns = []
        for index, header in enumerate(self.headers):
            name = "column_%d" % index
            initial = initial_mapping.get(header, "")
            field_choices_for_column = list(choices)
            if initial and initial not in known:
                field_choices_for_column.append((initial, initial))
            self.fields[name] = forms.ChoiceField(
                label=header or _("(column %(number)d, no header)") % {"number": index + 1},
                choices=field_choices_for_column,
                required=False,
                initial=initial,
            )
            self.columns.append(
                {
                    "index": index,
                    "header": header,
                    "field": self[name],
                    "samples": [row[index] if index < len(row) else "" for row in samples],
                }
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        chosen: dict[str, str] = {}
        for index, header in enumerate(self.headers):
            path = cleaned.get("column_%d" % index) or ""
            if not path:
                continue
            if not header:
                self.add_error(
                    "column_%d" % index,
                    _("This column has no header; give it one in the file to import it."),
                )
                continue
            chosen[header] = path
        try:
            build_mapping(
                self.headers,
                self.model,
                chosen,
                fields=self.importable,
                aliases=self.aliases,
                fk_lookups=self.fk_lookups,
            )
        except MappingError as exc:
            raise forms.ValidationError(str(exc), code="mapping") from None
        cleaned["mapping"] = chosen
        return cleaned


class CommitForm(forms.Form):
    skip_invalid = forms.BooleanField(
        label=_("Write the valid rows only, and leave out the invalid ones"),
        required=False,
    )
    preview = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)
    """Which check of the job the preview showed: a commit from a stale tab is refused."""
