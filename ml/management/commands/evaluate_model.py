import json
import sys
import time

from django.core.management.base import BaseCommand, CommandError

from ml.management.options import add_data_option, add_model_option, load_predictor_or_fail


class Command(BaseCommand):
    help = (
        "Evaluate a model on DIR/<class>/* (per source when DIR/manifest.csv exists, per skin-tone group), "
        "next to the figures on held-out sources that training measured (leave one source out)."
    )

    def add_arguments(self, parser):
        add_data_option(parser)
        add_model_option(parser)
        parser.add_argument("--json", dest="json_out", help="write all figures to this JSON file")
        parser.add_argument("--plot", help="write the confusion matrix to this PNG")
        parser.add_argument("--subset", help="CSV with a path column (e.g. the artifact's heldout_test.csv)")

    def handle(self, *args, **opts):
        from ml.core.evaluate import evaluate
        from ml.core.report import format_lesions, format_report, plot_confusion

        predictor = load_predictor_or_fail(opts.get("model"))
        t0 = time.time()

        def progress(done, total):
            if done == total or done % 64 == 0:
                rate = done / max(time.time() - t0, 1e-6)
                self.stderr.write(f"\r{done}/{total} images ({rate:.1f}/s)", ending="")
                sys.stderr.flush()
                if done == total:
                    self.stderr.write("")

        try:
            report = evaluate(predictor, opts["data"], subset=opts.get("subset"), progress=progress)
        except (ValueError, FileNotFoundError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"model: {predictor.version}")
        stored = predictor.artifact_dir / "evaluation.json"
        if stored.is_file():
            loso = json.loads(stored.read_text()).get("leave_one_source_out")
            if loso:
                self.stdout.write(format_report(loso, "== held-out sources (leave one source out, from training) =="))
        self.stdout.write(format_report(report, "== this evaluation (data given with --data) =="))
        if report.get("lesions"):
            self.stdout.write(format_lesions(report["lesions"]))
        if opts.get("json_out"):
            with open(opts["json_out"], "w") as f:
                json.dump(report, f, indent=2, default=float)
            self.stdout.write(f"wrote {opts['json_out']}")
        if opts.get("plot"):
            plot_confusion(report, opts["plot"])
            self.stdout.write(f"wrote {opts['plot']}")
