"""Celery application: broker from CELERY_BROKER_URL, tasks discovered in installed apps."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hockeyops.settings")

app = Celery("hockeyops")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
