import uuid

from django.db import models


class Author(models.Model):
    name = models.CharField(max_length=100, unique=True)
    email = models.EmailField(blank=True)
    born = models.DateField(null=True, blank=True)

    def __str__(self):
        return self.name


class Book(models.Model):
    """One field of each kind the importer converts."""

    class Genre(models.TextChoices):
        FICTION = "fiction", "Fiction"
        HISTORY = "history", "History"
        SCIENCE = "science", "Science"

    isbn = models.CharField("ISBN", max_length=13, unique=True)
    title = models.CharField(max_length=200)
    author = models.ForeignKey(Author, on_delete=models.PROTECT, null=True, blank=True)
    price = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    published = models.DateField("publication date", null=True, blank=True)
    in_stock = models.BooleanField(default=True)
    pages = models.PositiveIntegerField(null=True, blank=True)
    rating = models.FloatField(null=True, blank=True)
    genre = models.CharField(max_length=20, choices=Genre.choices, blank=True)
    website = models.URLField(blank=True)
    metadata = models.JSONField(null=True, blank=True)
    uid = models.UUIDField(default=uuid.uuid4)
    notes = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)
    modified = models.DateTimeField(auto_now=True)

    def __str__(self):
        return self.title


class Event(models.Model):
    """No unique key: every row is created, duplicates allowed."""

    name = models.CharField(max_length=100)
    starts = models.DateTimeField()
    duration = models.DurationField(null=True, blank=True)
    at = models.TimeField(null=True, blank=True)
    attendees = models.IntegerField(default=0)
    ref = models.UUIDField(null=True, blank=True)

    def __str__(self):
        return self.name


class Review(models.Model):
    """A composite key: one review per (book, reviewer)."""

    book = models.ForeignKey(Book, on_delete=models.CASCADE, to_field="isbn")
    reviewer = models.CharField(max_length=50)
    stars = models.SmallIntegerField()
    text = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["book", "reviewer"], name="one_review_per_reviewer"),
            models.CheckConstraint(condition=models.Q(stars__gte=0), name="stars_not_negative"),
        ]

    def __str__(self):
        return f"{self.reviewer} on {self.book_id}"


class Shelf(models.Model):
    """A foreign-key target with a unique code and a label that is not unique."""

    code = models.CharField(max_length=20, unique=True)
    label = models.CharField(max_length=50, blank=True)

    def __str__(self):
        return self.code

    def clean(self):
        from django.core.exceptions import ValidationError

        if self.code != self.code.upper():
            raise ValidationError("Shelf codes are upper case.")


class Tag(models.Model):
    name = models.CharField(max_length=30, unique=True)

    def __str__(self):
        return self.name


class Item(models.Model):
    """For tests/test_import_export.py: import-export's widgets, keys and skip_unchanged."""

    sku = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=100)
    # NULL and "" both possible: import-export's CharWidget writes "" for an empty cell.
    nickname = models.CharField(max_length=50, null=True, blank=True)  # noqa: DJ001
    active = models.BooleanField(default=False)
    quantity = models.IntegerField(default=0)
    price = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    released = models.DateField(null=True, blank=True)
    restocked = models.DateTimeField(null=True, blank=True)
    opens = models.TimeField(null=True, blank=True)
    data = models.JSONField(null=True, blank=True)
    shelf = models.ForeignKey(Shelf, on_delete=models.PROTECT, null=True, blank=True)
    tags = models.ManyToManyField(Tag, blank=True)
    modified = models.DateTimeField(auto_now=True)

    def __str__(self):
        return self.sku


class ShoutingField(models.CharField):
    """Saves its text in capitals: a field whose ``pre_save`` changes the value."""

    def pre_save(self, model_instance, add):
        value = super().pre_save(model_instance, add)
        if value:
            value = value.upper()
            setattr(model_instance, self.attname, value)
        return value


class Label(models.Model):
    """A model that Django's own ``bulk_create`` must write (tests/test_sinks.py)."""

    code = models.CharField(max_length=20, unique=True)
    text = ShoutingField(max_length=50, blank=True)

    def __str__(self):
        return self.code


class NoneAsEmptyField(models.CharField):
    """Stores a missing value as "": a field whose ``get_prep_value`` handles None itself."""

    def get_prep_value(self, value):
        return "" if value is None else super().get_prep_value(value)


class Note(models.Model):
    """Fields Django's own ``bulk_create`` adapts in its own ways (tests/test_sinks.py)."""

    code = models.CharField(max_length=20, unique=True)
    body = NoneAsEmptyField(max_length=50, null=True, blank=True)  # noqa: DJ001
    parent = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True)

    def __str__(self):
        return self.code


class NoteProxy(Note):
    class Meta:
        proxy = True


class Host(models.Model):
    """Text kinds whose validators the column-wise conversion checks with patterns."""

    slug = models.SlugField(unique=True)
    address = models.GenericIPAddressField(null=True, blank=True)
    ipv4 = models.GenericIPAddressField(protocol="IPv4", null=True, blank=True)
    ipv6 = models.GenericIPAddressField(protocol="IPv6", null=True, blank=True)
    site = models.URLField(max_length=300, blank=True)

    def __str__(self):
        return self.slug
