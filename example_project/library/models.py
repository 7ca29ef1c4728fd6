from django.db import models


class Author(models.Model):
    name = models.CharField(max_length=200, unique=True)
    email = models.EmailField(blank=True)
    country = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Book(models.Model):
    isbn = models.CharField("ISBN", max_length=13, unique=True)
    title = models.CharField(max_length=300)
    author = models.ForeignKey(Author, on_delete=models.PROTECT, related_name="books")
    price = models.DecimalField(max_digits=8, decimal_places=2)
    published = models.DateField()
    in_stock = models.BooleanField("in stock", default=True)
    pages = models.IntegerField(null=True, blank=True)

    def __str__(self):
        return self.title
