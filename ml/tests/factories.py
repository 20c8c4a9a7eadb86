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
