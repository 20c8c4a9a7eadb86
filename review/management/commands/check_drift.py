from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the drift check now (beat runs it daily): the last days' scans against the weeks before."

    def handle(self, *args, **opts):
        from review import services

        report = services.run_drift_check()
        self.stdout.write(f"{report.recent_n} recent scans against {report.baseline_n} before")
        for check in report.checks:
            if not check.get("ran"):
                self.stdout.write(f"  {check['name']:<34} not run: {check['note']}")
                continue
            mark = "DRIFT" if check["drifted"] else "ok"
            self.stdout.write(f"  {check['name']:<34} {check['test']:<45} p={check['p_value']:.2g} {mark}")
        if report.drifted:
            self.stdout.write(self.style.WARNING("drift: a significant change (see the review dashboard)"))
        else:
            self.stdout.write(self.style.SUCCESS("no significant change"))
