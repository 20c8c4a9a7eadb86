"""Which training images probably carry the wrong label: cleanlab on a training run's held-out predictions.

Writes the flagged images (most likely first) as a CSV and, with --data, contact sheets to look at; the
decisions a person takes go into ml/audit/label_decisions.csv, which train_model reads.
"""

import csv
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ml.core.artifact import SHIPPED_MODEL_DIR


class Command(BaseCommand):
    help = __doc__.strip().splitlines()[0]

    def add_arguments(self, parser):
        parser.add_argument(
            "--predictions",
            default=str(SHIPPED_MODEL_DIR / "heldout_predictions.csv.gz"),
            help="a training run's heldout_predictions.csv.gz (default: the shipped model's)",
        )
        parser.add_argument("--out", required=True, help="folder for flagged.csv (and the contact sheets)")
        parser.add_argument(
            "--data", action="append", default=[], help="the training folders, to draw contact sheets of the flagged"
        )
        parser.add_argument("--per-sheet", type=int, default=30)

    def handle(self, *args, **opts):
        from ml.core import label_audit

        predictions = Path(opts["predictions"])
        if not predictions.is_file():
            raise CommandError(f"{predictions}: no held-out predictions (train_model writes them)")
        flagged, rows, _names = label_audit.audit_predictions(predictions)
        out = Path(opts["out"])
        out.mkdir(parents=True, exist_ok=True)
        with open(out / "flagged.csv", "w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["rank", "path", "source", "given", "suggested", "p_given", "p_suggested"])
            for rank, r in enumerate(flagged):
                writer.writerow([rank, r["path"], r["source"], r["given"], r["suggested"], r["p_given"],
                                 r["p_suggested"]])
        self.stdout.write(f"{len(flagged)} of {len(rows)} images flagged; per source (flagged / images):")
        for source, (n_flagged, n) in label_audit.flagged_per_source(flagged, [r["source"] for r in rows]).items():
            self.stdout.write(f"  {source:<32} {n_flagged:>5} / {n}")
        if opts["data"]:
            sheets = self._sheets(flagged, opts["data"], out, opts["per_sheet"])
            self.stdout.write(f"{sheets} contact sheets in {out}")
        self.stdout.write(self.style.SUCCESS(f"flagged list: {out / 'flagged.csv'}"))

    def _sheets(self, flagged, data_dirs, out: Path, per_sheet: int) -> int:
        """Thumbnails of the flagged images, ``per_sheet`` to a PNG, captioned rank, given > suggested."""
        import cv2
        import numpy as np

        files = {}
        for d in data_dirs:
            for path in Path(d).rglob("*"):
                if path.is_file():
                    files[f"{path.parent.name}/{path.name}"] = path
        entries = [(files[r["path"]], f"#{rank} {r['given'][:5]}>{r['suggested'][:5]} {r['p_suggested']:.2f}")
                   for rank, r in enumerate(flagged) if r["path"] in files]
        cols, cell = 6, 180
        for page in range(0, len(entries), per_sheet):
            chunk = entries[page : page + per_sheet]
            rows = -(-len(chunk) // cols)
            sheet = np.full((rows * (cell + 20), cols * cell, 3), 255, np.uint8)
            for k, (path, caption) in enumerate(chunk):
                image = cv2.imread(str(path))
                if image is None:
                    continue
                scale = cell / max(image.shape[:2])
                image = cv2.resize(image, (max(1, int(image.shape[1] * scale)), max(1, int(image.shape[0] * scale))))
                r, c = divmod(k, cols)
                y, x = r * (cell + 20), c * cell
                sheet[y : y + image.shape[0], x : x + image.shape[1]] = image
                cv2.putText(sheet, caption, (x + 2, y + cell + 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1)
            cv2.imwrite(str(out / f"flagged-{page // per_sheet:02d}.png"), sheet)
        return -(-len(entries) // per_sheet)
