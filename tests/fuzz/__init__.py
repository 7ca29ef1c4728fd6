"""Fuzzing ``bulk_import`` with hostile CSV and XLSX files (issue 12).

``xlsx.py`` writes workbooks part by part, so a test can say exactly which lie a file tells;
``strategies.py`` generates the families of hostile inputs with Hypothesis; ``worker.py`` runs
``bulk_import`` on them in a child process that may die without taking the test run with it.
``tests/test_fuzz.py`` runs a short seeded campaign on every leg; ``scripts/fuzz.sh`` a long one.
"""
