"""The console's own admin site: its name in the title and header, the console block on the index, and
"View site" leading to the console (not to a page the project does not have)."""
from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig


class ConsoleSite(admin.AdminSite):
    """hockeyops' admin: every ModelAdmin registers here (it is ``admin.site``)."""

    site_title = "hockeyops console"
    site_header = "hockeyops · league data console"
    index_title = "Console"
    site_url = "/"  # the root redirects to the console
    index_template = "admin/jobs/index.html"
    enable_nav_sidebar = False  # the Runs list needs the width; the console block and breadcrumbs lead everywhere


class ConsoleAdminConfig(AdminConfig):
    """``django.contrib.admin`` with ``ConsoleSite`` as the default site."""

    default_site = "jobs.sites.ConsoleSite"
