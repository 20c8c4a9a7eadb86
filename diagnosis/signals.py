from django.dispatch import Signal

# Sent when someone other than the owner (a reviewer) opens a scan's image; the review app audits it.
media_viewed_by_reviewer = Signal()
# Sent when a superuser opens a scan with a note in the admin; the review app audits it.
note_viewed_in_admin = Signal()
