from django.apps import AppConfig


class SiteConfig(AppConfig):
    """The project itself as an app: start-up work that settings must not do at import."""

    name = "facediag_site"
    verbose_name = "FaceDiag site"

    def ready(self) -> None:
        from .lib.local_dirs import ensure_local_dirs

        ensure_local_dirs()
