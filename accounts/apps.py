from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.contrib.auth import get_user_model

        from . import receivers, tasks  # noqa: F401  # tasks: services publish the e-mail task by its name

        receivers.connect(get_user_model())
