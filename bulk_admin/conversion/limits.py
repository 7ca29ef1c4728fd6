"""A field's validators and choices as Arrow kernels, for the column-wise conversion."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from django.core import validators as django_validators
from django.db import models

from bulk_admin.conversion.kinds import _EMAIL, _IPV4, _SLUG, _URL, _URL_LENGTH

# Validators known by identity: what a value they accept certainly looks like.
_PATTERNS = (
    (django_validators.validate_ipv46_address, _IPV4),
    (django_validators.validate_ipv4_address, _IPV4),
    (django_validators.validate_slug, _SLUG),
)


class _Checks:
    """The field's validators and choices as Arrow kernels, or None if one is unknown."""

    def __init__(self) -> None:
        self.max_length: int | None = None
        self.min_length: int | None = None
        self.max_value: Any = None
        self.min_value: Any = None
        # Patterns a value must match to be certain; the others go per cell.
        self.patterns: list[str] = []
        self.choices: pa.Array | None = None

    @classmethod
    def build(cls, field: models.Field, storage: pa.DataType) -> _Checks | None:  # type: ignore[type-arg]
        checks = cls()
        for validator in field.validators:
            kind = type(validator)
            limit = getattr(validator, "limit_value", None)
            if callable(limit):
                return None
            pattern = next((p for known, p in _PATTERNS if validator is known), None)
            if pattern is not None:
                checks.patterns.append(pattern)
            elif kind is django_validators.MaxLengthValidator:
                checks.max_length = _tighter(checks.max_length, limit, min)
            elif kind is django_validators.MinLengthValidator:
                checks.min_length = limit
            elif kind is django_validators.MaxValueValidator:
                checks.max_value = _tighter(checks.max_value, limit, min)
            elif kind is django_validators.MinValueValidator:
                checks.min_value = _tighter(checks.min_value, limit, max)
            elif kind is django_validators.ProhibitNullCharactersValidator:
                continue  # NUL characters never pass the patterns
            elif kind is django_validators.DecimalValidator:
                continue  # the pattern allows only digits and places the field holds
            elif kind is django_validators.EmailValidator and _is_default_email(validator):
                checks.patterns.append(_EMAIL)
            elif kind is django_validators.URLValidator and _is_default_url(validator):
                checks.patterns.append(_URL)
                checks.max_length = _tighter(checks.max_length, _URL_LENGTH, min)
            else:
                return None
        if (checks.max_value is not None or checks.min_value is not None) and not (
            pa.types.is_integer(storage) or pa.types.is_floating(storage)
        ):
            return None  # limits on decimals or dates: checked per cell
        if field.choices:
            keys = [key for key, _label in field.flatchoices]
            try:
                checks.choices = pa.array(keys, type=storage)
            except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
                return None
        return checks

    def failing(self, values: pa.Array) -> pa.Array | None:
        """Return a mask of the values failing a check (null values never fail)."""
        masks = []
        if self.max_length is not None or self.min_length is not None:
            length = pc.utf8_length(values)
            if self.max_length is not None:
                masks.append(pc.greater(length, self.max_length))
            if self.min_length is not None:
                masks.append(pc.less(length, self.min_length))
        if self.max_value is not None:
            masks.append(pc.greater(values, pa.scalar(self.max_value, type=values.type)))
        if self.min_value is not None:
            masks.append(pc.less(values, pa.scalar(self.min_value, type=values.type)))
        for pattern in self.patterns:
            masks.append(pc.invert(pc.match_substring_regex(values, pattern)))
        if self.choices is not None:
            masks.append(pc.invert(pc.is_in(values, value_set=self.choices)))
        if not masks:
            return None
        mask = masks[0]
        for other in masks[1:]:
            mask = pc.or_(mask, other)
        return pc.fill_null(mask, False)


def _tighter(current: Any, limit: Any, pick: Callable[[Any, Any], Any]) -> Any:
    return limit if current is None else pick(current, limit)


def _is_default_email(validator: Any) -> bool:
    default = django_validators.validate_email
    return bool(
        validator.user_regex.pattern == default.user_regex.pattern
        and validator.domain_regex.pattern == default.domain_regex.pattern
        and list(validator.domain_allowlist) == list(default.domain_allowlist)
    )


def _is_default_url(validator: Any) -> bool:
    default = django_validators.URLValidator
    regex: Any = default.regex  # compiled lazily, as a pattern
    return bool(
        validator.regex.pattern == regex.pattern
        and validator.regex.flags == regex.flags
        and list(validator.schemes) == list(default.schemes)
        and validator.max_length >= _URL_LENGTH
        and not validator.inverse_match
    )
