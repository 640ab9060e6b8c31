"""Routes under /api/ (the league's old paths)."""
from django.urls import path

from jobs.api import views

urlpatterns = [
    path("health", views.health, name="api-health"),
    path("openapi.json", views.openapi, name="api-openapi"),
    path("etl/trigger", views.etl_trigger, name="api-etl-trigger"),
    path("etl/status/<int:run_id>", views.job_status, name="api-etl-status"),
    path("etl/history", views.etl_history, name="api-etl-history"),
    path("etl/cancel/<int:run_id>", views.etl_cancel, name="api-etl-cancel"),
    path("upload/generate-schema", views.generate_schema, name="api-generate-schema"),
    path("upload/schema-file", views.schema_file, name="api-schema-file"),
    path("upload/load-schema", views.load_schema, name="api-load-schema"),
    path("upload/to-supabase", views.to_supabase, name="api-to-supabase"),
    path("upload/status/<int:run_id>", views.job_status, name="api-upload-status"),
]
