from django.apps import AppConfig


class DiagnosisConfig(AppConfig):
    name = "diagnosis"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Register the Celery tasks in every process (web too): services.queue publishes the analysis task
        # by its registered name, so that services never import tasks.
        # ml sits below diagnosis and knows nothing of scans: it announces an activation, diagnosis acts on it.
        # accounts sits below too: deleting an account is announced, diagnosis deletes the scans.
        from accounts.signals import account_deleting
        from ml.models import ModelVersion
        from ml.signals import model_activated

        from . import tasks  # noqa: F401
        from .receivers import delete_scans_of_leaving_account, requeue_on_model_activation

        model_activated.connect(requeue_on_model_activation, sender=ModelVersion,
                                dispatch_uid="diagnosis.requeue_on_model_activation")
        account_deleting.connect(delete_scans_of_leaving_account, dispatch_uid="diagnosis.delete_scans_of_account")
