from django.core.management.base import BaseCommand

from diagnosis import services


class Command(BaseCommand):
    help = "Delete photos older than SCAN_IMAGE_RETENTION_DAYS (or --days), keeping the results."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=None)

    def handle(self, *args, days=None, **options):
        self.stdout.write(f"{services.purge_expired_images(days)} photos deleted")
