from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Make the version that was active before the current one active again (audited; no gate)."

    def add_arguments(self, parser):
        parser.add_argument("--reason", default="", help="why (kept in the audit trail)")
        parser.add_argument("--actor", help="who is asking, for the audit trail (default: the OS user)")

    def handle(self, *args, **opts):
        from facediag_site.lib.operators import command_actor
        from review import services

        try:
            now_active, replaced = services.rollback_model(reason=opts["reason"], actor=command_actor(opts["actor"]))
        except services.RollbackImpossible as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(
            f"{now_active.name} is active again (it replaced {replaced.name if replaced else 'no version'})"
        ))
