from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Register a trained model artifact (idempotent on sha256); --activate makes it the active version."

    def add_arguments(self, parser):
        parser.add_argument("path", help="artifact directory (or its metadata.json)")
        parser.add_argument("--activate", action="store_true")
        parser.add_argument("--name", help="version name (default: from the metadata)")

    def handle(self, *args, **opts):
        from ml.core.artifact import ArtifactError
        from ml.services import register_model

        try:
            version, created = register_model(opts["path"], activate=opts["activate"], name=opts["name"])
        except ArtifactError as exc:
            raise CommandError(f"invalid artifact: {exc}") from exc
        what = "registered" if created else "already registered"
        state = "active" if version.active else "inactive"
        self.stdout.write(self.style.SUCCESS(f"{what}: {version.name} ({version.sha256[:12]}, {state})"))
