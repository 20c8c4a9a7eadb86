import sys

from django.core.management.base import BaseCommand, CommandError

from review import services


class Command(BaseCommand):
    help = (
        "Export consented, reviewed, usable scans as DIR/<label>/<hash>.jpg plus DIR/manifest.csv "
        "(path,label,source,model_label,reviewed_at) for train_model --data DIR."
    )

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, help="output folder (must be new or empty, see --replace)")
        parser.add_argument("--replace", action="store_true", help="replace a previous export in --out")

    def handle(self, *args, **opts):
        step = {"last": -1}

        def progress(done, total):
            percent = 100 * done // total
            if percent // 10 != step["last"] or done == total:
                step["last"] = percent // 10
                self.stdout.write(f"exported {done}/{total} ({percent}%)")
                sys.stdout.flush()

        try:
            result = services.export_reviewed(opts["out"], replace=opts["replace"], progress=progress)
        except FileExistsError as exc:
            raise CommandError(str(exc)) from exc
        counts = ", ".join(f"{label} {n}" for label, n in result.per_label.items())
        self.stdout.write(self.style.SUCCESS(f"{result.written} photos written to {result.out} ({counts})"))
        if result.skipped:
            self.stderr.write(f"{result.skipped} photos could not be read and were left out")
