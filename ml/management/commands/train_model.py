import datetime as dt
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Train the VGG16 skin-condition classifier on DIR/<class>/* and write a model artifact."

    def add_arguments(self, parser):
        parser.add_argument("--data", action="append", required=True, help="DIR/<class>/*; may be given several times")
        parser.add_argument("--epochs", type=int, default=4, help="fine-tuning epochs (phase two)")
        parser.add_argument("--head-epochs", type=int, default=60, help="max head epochs (phase one, early stopping)")
        parser.add_argument("--out", help="artifact directory (default: FACEDIAG_MODELS_DIR/vgg16-<timestamp>)")
        parser.add_argument("--name", help="model version name (default: the output directory name)")
        parser.add_argument("--input-size", type=int, default=224)
        parser.add_argument(
            "--views", type=int, default=3, help="cached views per training image (1 clean + augmented)"
        )
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--base-weights", help="VGG16 notop .h5 (default: settings.VGG16_WEIGHTS_PATH)")

    def handle(self, *args, **opts):
        from ml.core.train import format_report, train

        for d in opts["data"]:
            if not Path(d).is_dir():
                raise CommandError(f"--data {d}: not a directory")
        out = opts["out"] or str(Path(settings.FACEDIAG_MODELS_DIR) / f"vgg16-{dt.datetime.now(dt.UTC):%Y%m%d-%H%M}")
        base = opts["base_weights"] or getattr(settings, "VGG16_WEIGHTS_PATH", None)
        if not base:
            self.stderr.write("warning: no VGG16 base weights configured; training from random weights")

        def log(msg):
            self.stdout.write(msg)
            sys.stdout.flush()

        try:
            _meta, report = train(
                opts["data"],
                out,
                epochs=opts["epochs"],
                head_epochs=opts["head_epochs"],
                input_size=opts["input_size"],
                views=opts["views"],
                base_weights_path=base,
                name=opts["name"],
                seed=opts["seed"],
                log=log,
            )
        except (ValueError, FileNotFoundError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(format_report(report))
        self.stdout.write(self.style.SUCCESS(f"artifact written to {out}"))
