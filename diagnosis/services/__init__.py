"""Writes for scans, one module a concern:

- ``intake``: a new scan from an upload, for the web and the API alike: size, admission (backpressure, quota),
  acceptance (parts, key, note, photos), ``create_scan`` and the one refund path;
- ``uploads``: the owner's note, deleting scans;
- ``analysis``: the claim protocol that lets exactly one execution analyse a scan, retry, failure;
- ``retention``: the sweeper (re-queue stuck or waiting scans) and photo retention;
- ``export``: the owner's data export (a zip);
- ``queue``: the one function that hands a scan to the analysis worker.

Callers use the names re-exported here (``from diagnosis import services``).
"""

from ..imaging import UploadRejected
from .analysis import (
    ScanNotRetryable,
    TransientAnalysisError,
    analyse_scan,
    analyse_scans,
    fail_scan,
    retry_inference_failures,
    retry_scan,
)
from .export import build_data_export
from .intake import check_photo_parts, create_scan
from .queue import enqueue_analysis
from .retention import purge_expired_images, requeue_stuck_scans, requeue_waiting_scans
from .uploads import delete_all_scans, delete_scan, update_scan_note

__all__ = [
    "UploadRejected", "TransientAnalysisError", "ScanNotRetryable", "create_scan", "enqueue_analysis",
    "analyse_scan", "analyse_scans", "retry_scan", "retry_inference_failures", "requeue_stuck_scans",
    "requeue_waiting_scans", "update_scan_note", "delete_scan", "delete_all_scans", "purge_expired_images",
    "build_data_export", "fail_scan", "check_photo_parts",
]
