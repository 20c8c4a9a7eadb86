from django.dispatch import Signal

# Sent inside the activating transaction when a version becomes active, with ``version``, ``previous``
# (the version active before, or None), ``via`` (what activated it: "register_model", "promote_model",
# "rollback_model"), ``actor`` (the user who asked, an operator's name from a command, or None) and ``reason``
# (why, for the audit trail; may be empty). ml knows nothing of scans: diagnosis
# re-queues the waiting scans (after commit) and review audits the activation, each by subscribing here.
model_activated = Signal()
