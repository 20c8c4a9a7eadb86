import json
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ml.core import artifact
from ml.core.training.lesions import has_lesion_data, train


class Command(BaseCommand):
    help = (
        "Train the acne lesion head (centre heatmap on VGG16 block4_conv3) on the marked ACNE04 lesions of DIR, "
        "choose its threshold and grade limits on held-out ACNE04 photos, and write it into a model artifact "
        "(lesions.npz, lesions.json) beside the classifier it reads from."
    )

    def add_arguments(self, parser):
        parser.add_argument("--data", required=True, help="skin4 folder with acne04_lesions.csv and acne04_grades.csv")
        parser.add_argument(
            "--model",
            default=str(artifact.SHIPPED_MODEL_DIR),
            help="the artifact to add the head to (default: the shipped model)",
        )
        parser.add_argument("--epochs", type=int, default=40)
        parser.add_argument("--hidden", type=int, default=64, help="channels of the head's hidden layers")
        parser.add_argument("--mosaics", type=int, default=600, help="2x2 and 3x3 photo mosaics added to training")
        parser.add_argument(
            "--negatives-per-source",
            type=int,
            default=200,
            help="healthy faces per healthy source used as photos without lesions",
        )
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--cache-dir",
            default=str(Path(settings.BASE_DIR) / "ml" / ".cache"),
            help="where the block4 maps of a run are kept for the next one (default: ml/.cache)",
        )

    def handle(self, *args, **opts):
        if not has_lesion_data(opts["data"]):
            raise CommandError(f"{opts['data']}: no acne04_lesions.csv and acne04_grades.csv (no marked lesions)")
        model_dir = Path(opts["model"])
        try:
            meta = json.loads((model_dir / artifact.METADATA_FILE).read_text())
        except (OSError, ValueError) as exc:
            raise CommandError(f"{model_dir}: not a model artifact ({exc})") from exc

        def log(msg):
            self.stdout.write(msg)
            sys.stdout.flush()

        report = train(
            opts["data"],
            model_dir,
            input_size=int(meta["input_size"]),
            epochs=opts["epochs"],
            hidden=opts["hidden"],
            n_mosaics=opts["mosaics"],
            negatives_per_source=opts["negatives_per_source"],
            cache_dir=opts["cache_dir"],
            seed=opts["seed"],
            log=log,
        )
        self.stdout.write(json.dumps(report, indent=2))
        self.stdout.write(self.style.SUCCESS(f"lesion head written to {model_dir}"))
