from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Write the float16 VGG16 base (.npz, committed under ml/weights/) from the Keras float32 notop .h5."

    def add_arguments(self, parser):
        parser.add_argument("h5", help="vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5 (Keras' ImageNet VGG16)")
        parser.add_argument("--out", help="default: ml/weights/vgg16_imagenet_notop_fp16.npz")

    def handle(self, *args, **opts):
        from ml.core.model import SHIPPED_BASE_WEIGHTS, export_base_weights, sha256_file

        out = opts["out"] or SHIPPED_BASE_WEIGHTS
        try:
            base_id = export_base_weights(opts["h5"], out)
        except (OSError, KeyError) as exc:
            raise CommandError(f"cannot read {opts['h5']}: {exc}") from exc
        self.stdout.write(f"wrote {out}\n  base id (float16 content): {base_id}\n  file sha256: {sha256_file(out)}")
