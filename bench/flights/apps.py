from django.apps import AppConfig


class BenchFlightsConfig(AppConfig):
    name = "bench.flights"
    label = "bench_flights"
    default_auto_field = "django.db.models.BigAutoField"
