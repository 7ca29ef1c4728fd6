"""The benchmark's models: a ``Book`` with a unique key, a foreign key given in files by the
author's name, decimal, date, boolean, integer and text columns, and ``auto_now_add``.

Django's default indexes are kept: the primary key, the unique ``isbn`` (plus its
``varchar_pattern_ops`` twin on PostgreSQL) and the ``author_id`` index, and the foreign-key
constraint.
"""

from django.db import models


class Author(models.Model):
    name = models.CharField(max_length=200, unique=True)

    def __str__(self):
        return self.name


class Book(models.Model):
    isbn = models.CharField("ISBN", max_length=13, unique=True)
    title = models.CharField(max_length=300)
    author = models.ForeignKey(Author, on_delete=models.PROTECT)
    price = models.DecimalField(max_digits=8, decimal_places=2)
    published = models.DateField()
    in_stock = models.BooleanField(default=True)
    pages = models.IntegerField(null=True, blank=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.title


class Customer(models.Model):
    email = models.EmailField(unique=True)
    name = models.CharField(max_length=100)

    def __str__(self):
        return self.email


class Order(models.Model):
    """The narrow table: its one unique integer and one foreign key make ``\\copy`` fast, so
    the client's own cost shows (issue 9)."""

    number = models.IntegerField(unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT)
    ordered = models.DateField()
    total = models.DecimalField(max_digits=12, decimal_places=2)
    details = models.JSONField()

    def __str__(self):
        return str(self.number)
