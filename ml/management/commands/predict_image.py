import json

from django.core.management.base import BaseCommand, CommandError

from ml.management.options import add_model_option, load_predictor_or_fail


class Command(BaseCommand):
    help = "Classify images with the active model (or --model DIR)."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+")
        parser.add_argument("--json", action="store_true", help="one JSON object per line")
        add_model_option(parser)
        parser.add_argument("--heatmap-dir", help="also write Grad-CAM overlays (JPEG) into this directory")

    def handle(self, *args, **opts):
        from ml.core.preprocess import InvalidImage

        predictor = load_predictor_or_fail(opts.get("model"))
        heat_dir = opts.get("heatmap_dir")
        if heat_dir:
            from pathlib import Path

            Path(heat_dir).mkdir(parents=True, exist_ok=True)
        failed = 0
        for path in opts["paths"]:
            try:
                pred = predictor.predict(path, with_heatmap=bool(heat_dir))
            except (InvalidImage, FileNotFoundError, IsADirectoryError) as exc:
                failed += 1
                if opts["json"]:
                    self.stdout.write(json.dumps({"path": path, "error": str(exc)}))
                else:
                    self.stderr.write(f"{path}: cannot read image: {exc}")
                continue
            if heat_dir and pred.heatmap_jpeg:
                from pathlib import Path

                (Path(heat_dir) / (Path(path).stem + "_gradcam.jpg")).write_bytes(pred.heatmap_jpeg)
            if opts["json"]:
                self.stdout.write(json.dumps({"path": path, **_public(pred)}))
            else:
                label = {"uncertain": "uncertain (I can't tell)", "no_skin": "no skin found"}.get(
                    pred.label, pred.label
                )
                probs = ", ".join(f"{c} {p:.3f}" for c, p in pred.probabilities.items())
                flags = ", ".join(k for k, v in pred.quality.items() if v) or "none"
                self.stdout.write(
                    f"{path}: {label}\n  why: {pred.reason_text}\n  probabilities: {probs}\n  quality flags: {flags}"
                )
                if pred.lesions is not None:
                    grade = pred.lesions.grade_name or "none to grade"
                    self.stdout.write(f"  acne lesions: {pred.lesions.count} found (grade: {grade})")
        if failed == len(opts["paths"]):
            raise CommandError("no image could be read")


def _public(pred):
    return {
        "label": pred.label,
        "reason": pred.reason,
        "probabilities": pred.probabilities,
        "quality": pred.quality,
        "model_version": pred.model_version,
        **pred.readouts_json(),  # "lesions", and any readout a newer model adds
    }

