from django.dispatch import Signal

# Sent when someone other than the owner (a reviewer) opens a scan's image; the review app audits it.
media_viewed_by_reviewer = Signal()
# Sent when a superuser opens a scan with a note in the admin; the review app audits it.
note_viewed_in_admin = Signal()
# Sent after a batch's results are stored, with ``stored``: (scan, photo bytes, the active model's prediction)
# of each scan done; the review app records them for measurement and runs the shadow model (review/shadow.py).
batch_results_stored = Signal()
# Sent to read a scan's clinician review, with ``scan``; the review app answers a
# diagnosis.selectors.ClinicianReview or None (read through diagnosis.selectors.clinician_review).
review_of_scan = Signal()
