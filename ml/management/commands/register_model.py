from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Register a trained model artifact (idempotent on sha256). --shadow runs it beside the active version "
        "on every scan without serving its results; --activate serves it at once (the first model, deployments; "
        "candidates go through `promote_model NAME`)."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="artifact directory (or its metadata.json)")
        role = parser.add_mutually_exclusive_group()
        role.add_argument("--activate", action="store_true", help="serve its results now, without the promotion gate")
        role.add_argument("--shadow", action="store_true",
                          help="run it in shadow: workers store its results apart, never shown to anyone")
        parser.add_argument("--name", help="version name (default: from the metadata)")

    def handle(self, *args, **opts):
        from ml.core.artifact import ArtifactError
        from ml.selectors import active_version
        from ml.services import ShadowNotAllowed, register_model

        before = active_version()
        try:
            version, created = register_model(
                opts["path"], activate=opts["activate"], shadow=opts["shadow"], name=opts["name"]
            )
        except ArtifactError as exc:
            raise CommandError(f"invalid artifact: {exc}") from exc
        except ShadowNotAllowed as exc:
            raise CommandError(str(exc)) from exc
        what = "registered" if created else "already registered"
        self.stdout.write(self.style.SUCCESS(f"{what}: {version.name} ({version.sha256[:12]}, {version.role})"))
        if opts["activate"] and before is not None and before.pk != version.pk:
            self.stdout.write(self.style.WARNING(
                f"{before.name} was replaced without the promotion gate; `manage.py rollback_model` goes back"
            ))
