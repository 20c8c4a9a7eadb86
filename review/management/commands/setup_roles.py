from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from review import services


class Command(BaseCommand):
    help = 'Create (or update) the "reviewer" group with the review permission; optionally add reviewers.'

    def add_arguments(self, parser):
        parser.add_argument("--add-reviewer", action="append", default=[], metavar="EMAIL",
                            help="add this existing user to the reviewer group (may be repeated)")
        parser.add_argument("--staff", action="store_true",
                            help="also let the added reviewers log in to the Django admin (is_staff)")

    def handle(self, *args, **opts):
        try:
            group, created = services.ensure_reviewer_group()
        except LookupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f'group "{group.name}" {"created" if created else "up to date"}')
        User = get_user_model()
        for email in opts["add_reviewer"]:
            try:
                user = User.objects.get(email__iexact=email.strip())
            except User.DoesNotExist:
                raise CommandError(f"no user with e-mail {email}") from None
            user.groups.add(group)
            if opts["staff"] and not user.is_staff:
                user.is_staff = True
                user.save(update_fields=["is_staff"])
            self.stdout.write(f"{user.email} is a reviewer")
        self.stdout.write(self.style.SUCCESS("roles ready"))
