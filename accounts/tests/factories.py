"""Test data for accounts: the one place tests make users (besides the `user`/`other_user` fixtures)."""

import factory
from django.utils import timezone

from accounts.models import User

PASSWORD = "correct horse battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    email_verified_at = factory.LazyFunction(timezone.now)  # a confirmed address, as every account in use
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)
