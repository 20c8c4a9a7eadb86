from django.core.management.base import BaseCommand

from diagnosis import services


class Command(BaseCommand):
    help = "Re-queue scans stuck in queued/analysing longer than SCAN_STUCK_AFTER_SECONDS (also runs in beat)."

    def handle(self, *args, **options):
        found, queued = services.requeue_stuck_scans()
        self.stdout.write(f"{found} stuck scans, {queued} re-queued")
