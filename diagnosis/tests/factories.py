import factory
from django.core.files.base import ContentFile

from accounts.models import User
from diagnosis.models import Scan
from tests.support import face_like_jpeg


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery")


class ScanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Scan

    owner = factory.SubFactory(UserFactory)
    image = factory.LazyFunction(lambda: ContentFile(face_like_jpeg(), name="x.jpg"))
    thumbnail = factory.LazyFunction(lambda: ContentFile(face_like_jpeg((64, 64)), name="t.jpg"))
    status = Scan.Status.DONE
    label = "acne"
    probabilities = factory.LazyFunction(lambda: {"acne": 0.7, "eczema": 0.1, "healthy": 0.15, "rosacea": 0.05})
    top_probability = 0.7
    quality = factory.LazyFunction(lambda: {"no_face": False, "blurry": False})
