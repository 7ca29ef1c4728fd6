"""Signals sent by bulk_admin.

``import_finished`` is sent once per import that wrote rows, after its transaction
committed or when it is ready to (inside an outer ``atomic`` block), with ``sender`` the
model, ``result`` the :class:`~bulk_admin.results.ImportResult` and ``using`` the database
alias. Model ``save()`` and ``pre_save``/``post_save`` are never called for imported rows;
connect here to react to a whole import at once.
"""

from __future__ import annotations

from django.dispatch import Signal

import_finished = Signal()
