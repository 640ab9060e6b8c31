"""Services: the logic behind admin actions, CLI commands and Celery tasks (which stay thin)."""
