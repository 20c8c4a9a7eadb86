from django.db import transaction

from . import services


def requeue_on_model_activation(sender, **kwargs):
    """A version became active (``ml.signals.model_activated``): once that commits, the scans that waited
    for a usable model are queued again at once instead of waiting for the sweeper."""
    transaction.on_commit(services.requeue_waiting_scans)


def delete_scans_of_leaving_account(sender, user, **kwargs):
    """An account is being deleted (``accounts.signals.account_deleting``, inside its transaction): its scans
    and every stored file go with it."""
    services.delete_all_scans(user)
