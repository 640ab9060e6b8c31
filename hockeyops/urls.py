"""URL routes: the admin is the console."""
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index"), name="home"),  # "View site": the console
    path("admin/", admin.site.urls),
    path("api/", include("jobs.api.urls")),
]
