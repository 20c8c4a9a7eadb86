import argparse
import csv
import datetime as dt
import io
import shutil
import sys
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from ml.management.options import add_data_option


def head_grid(text: str) -> tuple[tuple[int, float, float], ...]:
    """'12,0.4,1e-4;20,0.5,3e-4' -> ((12, 0.4, 1e-4), (20, 0.5, 3e-4))."""
    try:
        grid = tuple((int(e), float(d), float(l2)) for e, d, l2 in (part.split(",") for part in text.split(";")))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: expected 'epochs,dropout,l2' separated by ';'") from exc
    if any(e < 1 or not 0 <= d < 1 or l2 < 0 for e, d, l2 in grid):
        raise argparse.ArgumentTypeError(f"{text!r}: epochs >= 1, 0 <= dropout < 1, l2 >= 0")
    return grid


class Command(BaseCommand):
    help = (
        "Train the VGG16 skin-condition classifier on DIR/<class>/* (plus photos with no face or skin), "
        "choose and calibrate it on held-out sources, and write a model artifact."
    )

    def add_arguments(self, parser):
        add_data_option(parser)
        parser.add_argument(
            "--negatives", action="append", default=[], help="DIR/* photos with no face or skin (the reject class)"
        )
        parser.add_argument("--out", help="artifact directory (default: FACEDIAG_MODELS_DIR/vgg16-<timestamp>)")
        parser.add_argument("--name", help="model version name (default: the output directory name)")
        parser.add_argument("--input-size", type=int, default=224)
        parser.add_argument("--views", type=int, default=2, help="cached views per image (1 clean + augmented)")
        parser.add_argument("--fine-tune-epochs", type=int, default=0, help="also fine-tune VGG16 block 5 (slow)")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--head-grid",
            type=head_grid,
            default=None,
            help="the head settings leave-one-source-out chooses from, as 'epochs,dropout,l2' separated by ';' "
            "(default: ml.core.training.selection.HEAD_GRID, four settings); one setting makes a quick trial",
        )
        parser.add_argument(
            "--cache-dir",
            default=str(Path(settings.BASE_DIR) / "ml" / ".cache"),
            help="where the VGG16 features of a run are kept for the next one (default: ml/.cache)",
        )
        parser.add_argument(
            "--label-decisions",
            default=None,
            help="the label audit's decisions CSV (default: ml/audit/label_decisions.csv where it exists; "
            "'none' for none)",
        )
        parser.add_argument(
            "--reviewed",
            action="store_true",
            help="also train on the reviewed scans whose owners consented (exported as export_reviewed does), "
            "as one more source that leave-one-source-out holds out on its own",
        )
        parser.add_argument(
            "--base-weights",
            help="VGG16 notop base, .h5 or our float16 .npz (default: settings.VGG16_TRAINING_WEIGHTS_PATH)",
        )

    def handle(self, *args, **opts):
        from ml.core.data import LABEL_DECISIONS
        from ml.core.train import format_evaluation, train

        for d in opts["data"] + opts["negatives"]:
            if not Path(d).is_dir():
                raise CommandError(f"{d}: not a directory")
        out = opts["out"] or str(Path(settings.FACEDIAG_MODELS_DIR) / f"vgg16-{dt.datetime.now(dt.UTC):%Y%m%d-%H%M}")
        base = opts["base_weights"] or settings.VGG16_TRAINING_WEIGHTS_PATH
        decisions = opts["label_decisions"]
        if decisions is None:
            decisions = LABEL_DECISIONS if LABEL_DECISIONS.is_file() else None
        elif decisions.lower() == "none":
            decisions = None
        elif not Path(decisions).is_file():
            raise CommandError(f"{decisions}: no such label-decisions file")

        def log(msg):
            self.stdout.write(msg)
            sys.stdout.flush()

        data_dirs = list(opts["data"])
        scratch = None
        if opts["reviewed"]:
            scratch = Path(tempfile.mkdtemp(prefix="facediag-reviewed-"))
            reviewed = self._export_reviewed(scratch / "reviewed")
            if reviewed is not None:
                data_dirs.append(str(reviewed))
        try:
            _meta, evaluation = train(
                data_dirs,
                out,
                negative_dirs=opts["negatives"],
                input_size=opts["input_size"],
                views=opts["views"],
                base_weights_path=base,
                name=opts["name"],
                seed=opts["seed"],
                fine_tune_epochs=opts["fine_tune_epochs"],
                **({"head_grid": opts["head_grid"]} if opts["head_grid"] else {}),
                cache_dir=opts["cache_dir"],
                label_decisions=decisions,
                log=log,
            )
        except (ValueError, FileNotFoundError) as exc:
            raise CommandError(str(exc)) from exc
        finally:
            if scratch is not None:
                shutil.rmtree(scratch, ignore_errors=True)  # copies of people's photos: never left behind
        self.stdout.write(format_evaluation(evaluation))
        self.stdout.write(self.style.SUCCESS(f"artifact written to {out}"))

    def _export_reviewed(self, out: Path) -> Path | None:
        """The consented reviewed scans as one more data directory (its manifest names their one source), or
        None when there are none. The export command is called by name: ml does not import the review app."""
        report = io.StringIO()
        call_command("export_reviewed", "--out", str(out), stdout=report)
        with open(out / "manifest.csv", newline="") as fh:
            rows = list(csv.DictReader(fh))
        if not rows:
            self.stdout.write("--reviewed: no consented reviewed scans to add")
            return None
        sources = ", ".join(sorted({row["source"] for row in rows}))
        self.stdout.write(f"--reviewed: {len(rows)} reviewed photos added as source {sources}")
        return out
