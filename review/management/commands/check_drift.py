from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Run the drift check now (beat runs it daily): the last days' scans against the weeks before. Exit status "
        "1 when a significant change was found; a check that had too few scans to test anything says so."
    )

    def handle(self, *args, **opts):
        from django.conf import settings

        from review import services

        report = services.run_drift_check()
        self.stdout.write(f"{report.recent_n} recent scans against {report.baseline_n} before")
        ran = 0
        for check in report.checks:
            if not check.get("ran"):
                self.stdout.write(f"  {check['name']:<34} not run: {check['note']}")
                continue
            ran += 1
            mark = "DRIFT" if check["drifted"] else "ok"
            self.stdout.write(f"  {check['name']:<34} {check['test']:<45} p={check['p_value']:.2g} {mark}")
        if report.drifted:
            names = ", ".join(c["name"] for c in report.checks if c.get("drifted"))
            raise CommandError(f"drift: a significant change ({names}; see the review dashboard)", returncode=1)
        if not ran:
            self.stdout.write(self.style.WARNING(
                f"no test ran: each side needs at least DRIFT_MIN_SCANS={settings.DRIFT_MIN_SCANS} scans "
                f"(no baseline yet?); nothing was compared"))
        else:
            self.stdout.write(self.style.SUCCESS(f"no significant change ({ran} tests)"))
