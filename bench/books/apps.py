from django.apps import AppConfig


class BenchBooksConfig(AppConfig):
    name = "bench.books"
    label = "bench_books"
    default_auto_field = "django.db.models.BigAutoField"
