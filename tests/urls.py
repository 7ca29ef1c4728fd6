from django.contrib import admin
from django.urls import path

from tests.testapp.admin import other_site

urlpatterns = [
    path("admin/", admin.site.urls),
    path("other-admin/", other_site.urls),
]
