"""A database router for the tests of imports into another database than the jobs'."""


class TestAppElsewhere:
    """The test app's models in the "other" database; everything else in "default"."""

    def db_for_read(self, model, **hints):
        return "other" if model._meta.app_label == "testapp" else None

    db_for_write = db_for_read

    def allow_relation(self, obj1, obj2, **hints):
        return True  # an ImportJob names its model's content type, not its rows
