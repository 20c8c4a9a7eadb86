from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import services


def requeue_on_model_activation(sender, version=None, previous=None, **kwargs):
    """A version became active (``ml.signals.model_activated``): once that commits, the scans that waited
    for a usable model are queued again at once instead of waiting for the sweeper, and so are the scans
    the version it replaced (or this one, re-activated after a repair) failed at inference, since that
    version became active and within MODEL_FAILURE_REQUEUE_HOURS."""
    transaction.on_commit(services.requeue_waiting_scans)
    since = timezone.now() - timedelta(hours=settings.MODEL_FAILURE_REQUEUE_HOURS)
    if previous is not None and previous.activated_at and previous.activated_at > since:
        since = previous.activated_at
    transaction.on_commit(lambda: services.retry_inference_failures(since))


def delete_scans_of_leaving_account(sender, user, **kwargs):
    """An account is being deleted (``accounts.signals.account_deleting``, inside its transaction): its scans
    and every stored file go with it."""
    services.delete_all_scans(user)
