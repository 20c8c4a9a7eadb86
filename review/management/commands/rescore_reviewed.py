import sys

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Replay the stored photos of reviewed scans whose owners consented through a registered model version "
        "and store its results apart, so the dashboard and the promotion gate have its figures at once."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="a registered model version's name")
        parser.add_argument("--replace", action="store_true", help="score again the scans it has re-scored before")
        parser.add_argument("--batch-size", type=int, default=16)

    def handle(self, *args, **opts):
        from ml.runtime import ModelUnavailable
        from ml.selectors import version_by_name
        from review import services

        version = version_by_name(opts["name"])
        if version is None:
            raise CommandError(f"no registered version named {opts['name']!r}")
        if opts["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        step = {"last": -1}

        def progress(done, total):
            percent = 100 * done // total
            if percent // 10 != step["last"] or done == total:
                step["last"] = percent // 10
                self.stdout.write(f"re-scored {done}/{total} ({percent}%)")
                sys.stdout.flush()

        try:
            result = services.rescore_reviewed(version, replace=opts["replace"], batch_size=opts["batch_size"],
                                               progress=progress)
        except ModelUnavailable as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(
            f"{version.name}: {result.scored} of {result.total} reviewed scans scored and stored"
        ))
        if result.unreadable:
            self.stderr.write(f"{result.unreadable} photos could not be read and were left out")
