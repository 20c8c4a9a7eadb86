"""A scan after its upload: the owner's note, deleting scans. (A new scan comes in through ``intake``.)"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction

from .. import storage
from ..models import Scan
from .intake import check_note

if TYPE_CHECKING:
    from accounts.models import User


def update_scan_note(scan: Scan, note: str) -> Scan:
    """Save the owner's note (at most NOTE_MAX_LENGTH characters: longer is refused, UploadRejected)."""
    scan.note = check_note(note)
    scan.save(update_fields=["note", "updated_at"])
    return scan


def delete_scan(scan: Scan) -> None:
    """Delete the scan and its photos; their files go once the deletion is committed (a rollback keeps them)."""
    names = storage.scan_file_names(scan)

    def delete_files() -> None:
        for name in names:
            storage.delete_quietly(name)

    with transaction.atomic():
        # Lock the row before the cascade collects what refers to it: a worker storing a model's result on this
        # scan meanwhile (review.services.record_model_results) then waits at its commit and finds the scan gone,
        # instead of slipping a row in after the collection and failing this deletion at its commit.
        if not list(Scan.objects.select_for_update().filter(pk=scan.pk).values_list("pk", flat=True)):
            return  # deleted meanwhile (a repeated request): nothing left to do
        scan.delete()
        transaction.on_commit(delete_files)


def delete_all_scans(owner: User) -> None:
    for scan in Scan.objects.filter(owner=owner):
        delete_scan(scan)
