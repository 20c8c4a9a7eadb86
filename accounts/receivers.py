from django.db.models.signals import post_save

from . import services


def revoke_tokens_on_new_password(sender, instance, created, **kwargs):
    # set_password() keeps the new raw password in `_password` until save() hands it to the password
    # validators; a hash upgrade at login clears it first, so only a real new password gets here.
    if not created and getattr(instance, "_password", None) is not None:
        services.password_changed(instance)


def connect(user_model):
    post_save.connect(revoke_tokens_on_new_password, sender=user_model,
                      dispatch_uid="accounts.revoke_tokens_on_new_password")
