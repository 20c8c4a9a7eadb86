from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Run a registered version in shadow (workers store its results apart, never served), or --stop."

    def add_arguments(self, parser):
        parser.add_argument("name", nargs="?", help="a registered version's name")
        parser.add_argument("--stop", action="store_true", help="no shadow version from now on")

    def handle(self, *args, **opts):
        from ml.selectors import shadow_version, version_by_name
        from ml.services import ShadowNotAllowed, set_shadow

        if opts["stop"] == bool(opts["name"]):
            raise CommandError("give a version name, or --stop")
        if opts["stop"]:
            current = shadow_version()
            set_shadow(None)
            self.stdout.write(f"no shadow version (was {current.name if current else 'none'})")
            return
        version = version_by_name(opts["name"])
        if version is None:
            raise CommandError(f"no registered version named {opts['name']!r}")
        try:
            set_shadow(version)
        except ShadowNotAllowed as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"{version.name} runs in shadow"))
