import logging

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.db import IntegrityError, transaction
from django.utils import timezone

logger = logging.getLogger(__name__)


class EmailTaken(Exception):
    pass


def register_user(*, email, password, display_name=""):
    User = get_user_model()
    email = User.objects.normalize_email(email).strip().lower()
    validate_password(password, User(email=email))
    try:
        with transaction.atomic():
            if User.objects.filter(email__iexact=email).exists():
                raise EmailTaken(email)
            user = User.objects.create_user(email=email, password=password, display_name=display_name)
    except IntegrityError:
        raise EmailTaken(email) from None
    logger.info("user %s registered", user.pk)
    return user


def update_profile(user, *, display_name=None, consent_training=None):
    fields = []
    if display_name is not None:
        user.display_name = display_name
        fields.append("display_name")
    if consent_training is not None and consent_training != user.consent_training:
        user.consent_training = consent_training
        user.consent_updated_at = timezone.now()
        fields += ["consent_training", "consent_updated_at"]
    if fields:
        user.save(update_fields=fields)
    return user


def delete_account(user):
    """Remove the account, every scan and every stored file."""
    from diagnosis.services import delete_all_scans

    user_id = user.pk
    with transaction.atomic():
        delete_all_scans(user)
        user.delete()
    logger.info("user %s deleted their account", user_id)
