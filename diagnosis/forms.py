from django import forms
from django.utils.translation import gettext_lazy as _

from .models import NOTE_MAX_LENGTH, Label


class UploadForm(forms.Form):
    image = forms.FileField(
        label=_("Face photo"),
        # No "capture" attribute: phones then offer both the camera and the gallery.
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png,image/webp,image/*"}),
        help_text=_("JPEG, PNG or WebP. Face the light, fill the frame with your face, no make-up or filters."),
    )
    # The scan's other photos (optional): analysed with the front one and combined into one result.
    image_left = forms.FileField(
        label=_("Left side (optional)"), required=False,
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png,image/webp,image/*"}),
    )
    image_right = forms.FileField(
        label=_("Right side (optional)"), required=False,
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png,image/webp,image/*"}),
    )
    note = forms.CharField(required=False, max_length=NOTE_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 2}))
    # One per photo, made by the page (static/js/capture.js): a photo sent twice (a double tap, or again by
    # the offline queue after a lost answer) makes one scan. The Idempotency-Key header works as well. Its
    # length is the intake's rule (services.intake.idempotency_key_of), the same for the API.
    idempotency_key = forms.CharField(required=False, widget=forms.HiddenInput)


class NoteForm(forms.Form):
    note = forms.CharField(required=False, max_length=NOTE_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 3}))


class HistoryFilterForm(forms.Form):
    label = forms.ChoiceField(label=_("Result"), required=False, choices=[("", _("Any result"))] + list(Label.choices))
    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))


class ReportForm(forms.Form):
    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        cleaned = super().clean() or {}
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError(_("The start date must not be after the end date."))
        return cleaned
