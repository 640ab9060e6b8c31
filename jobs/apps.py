from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Jobs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from jobs import tasks  # noqa: F401  local: registers the task names jobs.services.dispatch sends
        from jobs.groups import connect_post_migrate  # local: models may be imported only once apps are ready

        connect_post_migrate(self)
