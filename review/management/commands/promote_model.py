from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Make a registered version active only if, on reviewed scans, it is not worse than the active one "
        "(macro-F1 beyond the interval, any class's recall by more than 5 points, healthy skin called a "
        "condition beyond the interval). Prints the comparison; exits with status 1 when refused."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="a registered model version's name")
        parser.add_argument("--force", action="store_true", help="activate even if the gate refuses (needs --reason)")
        parser.add_argument("--reason", default="", help="why (kept in the audit trail)")
        parser.add_argument("--actor", help="who is asking, for the audit trail (default: the OS user)")

    def handle(self, *args, **opts):
        from facediag_site.lib.operators import command_actor
        from ml.selectors import version_by_name
        from review import services
        from review.measures import format_comparison

        version = version_by_name(opts["name"])
        if version is None:
            raise CommandError(f"no registered version named {opts['name']!r}")
        try:
            outcome = services.promote_model(version, force=opts["force"], reason=opts["reason"],
                                             actor=command_actor(opts["actor"]))
        except services.PromotionError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(format_comparison(outcome.comparison, outcome.version, outcome.previous))
        if not outcome.accepted:
            failed = ", ".join(c["name"] for c in outcome.comparison["checks"] if not c["passed"])
            raise CommandError(f"promotion of {outcome.version} refused ({failed}); "
                               f"--force --reason \"...\" overrides", returncode=1)
        how = "forced past the gate" if outcome.forced else "passed the gate"
        self.stdout.write(self.style.SUCCESS(
            f"{outcome.version} is active ({how}); it replaced {outcome.previous or 'no version'}. "
            f"`manage.py rollback_model` goes back."
        ))
