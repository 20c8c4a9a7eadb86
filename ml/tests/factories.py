"""Test data for ml: registered model versions whose artifact is not needed (active_model has a real one)."""

import factory

from ml.core import CLASSES
from ml.models import ModelVersion


class ModelVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ModelVersion

    name = factory.Sequence(lambda n: f"vgg16-test-{n}")
    artifact_path = "/nowhere/model"
    sha256 = factory.Sequence(lambda n: f"{n:064x}")
    classes = factory.LazyFunction(lambda: list(CLASSES))


#: Thresholds that let a model give a condition for any colour photo (no "uncertain", no "no skin").
ALWAYS_A_CONDITION = {
    "uncertain": 0.0, "margin": 0.0, "reject": 1.01, "min_skin_ratio_any": 0.0, "min_skin_ratio_no_face": 0.0,
    "min_gray_std": 0.0, "max_laplacian_var": 1e12, "max_feature_distance": None,
}


def variant_artifact(source, out, *, name, rotate=0):
    """A copy of the trained artifact at ``source`` that always gives a condition, with its condition outputs
    rotated by ``rotate``: where the copy with ``rotate=0`` says CLASSES[i], this one says CLASSES[i - rotate].
    So two variants with different ``rotate`` disagree on every photo, in a known way."""
    from ml.core import artifact

    meta, trained, extra = artifact.load(source)
    k = len(meta["classes"])
    order = [(i + rotate) % k for i in range(k)] + list(range(k, trained["head_logits/kernel"].shape[-1]))
    trained = {**trained, "head_logits/kernel": trained["head_logits/kernel"][:, order],
               "head_logits/bias": trained["head_logits/bias"][order]}
    meta = {key: value for key, value in meta.items() if key != "weights_sha256"}
    meta.update(name=name, thresholds={**meta["thresholds"], **ALWAYS_A_CONDITION})
    artifact.save(out, trained, meta, extra_arrays=extra)
    return out
