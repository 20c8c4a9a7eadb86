from django.apps import AppConfig


class DiagnosisConfig(AppConfig):
    name = "diagnosis"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Register the Celery tasks in every process (web too): services.queue publishes the analysis task
        # by its registered name, so that services never import tasks.
        from . import tasks  # noqa: F401
