from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Register a trained model artifact (idempotent on sha256). --activate-if-none serves it only when no "
        "version is active (a fresh install: what deployments run, so a deploy never undoes a promotion); "
        "--activate serves it at once whatever is active (forced, audited; replacing a version needs --reason); "
        "--shadow runs it beside the active version without serving its results. Candidates go through "
        "`promote_model NAME`."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="artifact directory (or its metadata.json)")
        role = parser.add_mutually_exclusive_group()
        role.add_argument("--activate-if-none", action="store_true",
                          help="serve it only if no version is active (first install; deployments)")
        role.add_argument("--activate", action="store_true",
                          help="serve it now, without the promotion gate (first install, emergencies; "
                               "replacing the active version needs --reason)")
        role.add_argument("--shadow", action="store_true",
                          help="run it in shadow: workers store its results apart, never shown to anyone")
        parser.add_argument("--name", help="version name (default: from the metadata)")
        parser.add_argument("--reason", default="", help="why (kept in the audit trail)")
        parser.add_argument("--actor", help="who is asking, for the audit trail (default: the OS user)")

    def handle(self, *args, **opts):
        from facediag_site.lib.operators import command_actor
        from ml.core.artifact import ArtifactError
        from ml.selectors import active_version
        from ml.services import ActivationNeedsReason, ShadowNotAllowed, register_model

        before = active_version()
        try:
            version, created = register_model(
                opts["path"], activate=opts["activate"], activate_if_none=opts["activate_if_none"],
                shadow=opts["shadow"], name=opts["name"], actor=command_actor(opts["actor"]), reason=opts["reason"],
                require_reason=True,
            )
        except ArtifactError as exc:
            raise CommandError(f"invalid artifact: {exc}") from exc
        except ActivationNeedsReason as exc:
            raise CommandError(f"{exc}: --reason \"...\" (or `manage.py promote_model NAME` through the gate)") from exc
        except ShadowNotAllowed as exc:
            raise CommandError(str(exc)) from exc
        what = "registered" if created else "already registered"
        self.stdout.write(self.style.SUCCESS(f"{what}: {version.name} ({version.sha256[:12]}, {version.role})"))
        if opts["activate_if_none"] and not version.active and before is not None:
            self.stdout.write(f"{before.name} stays active (promotions and rollbacks decide; a deploy does not)")
        if opts["activate"] and before is not None and before.pk != version.pk:
            self.stdout.write(self.style.WARNING(
                f"{before.name} was replaced without the promotion gate; `manage.py rollback_model` goes back"
            ))
