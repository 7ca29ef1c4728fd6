"""Integrations with other packages; each module imports its package only when imported."""

from __future__ import annotations
