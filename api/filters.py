"""Query filters for the scan list. Validation and docs come from django-filter; the filtering
itself is `diagnosis.selectors.scans_for_owner`, the same selector the web history page uses."""

import django_filters
from rest_framework.exceptions import ValidationError

from diagnosis import selectors
from diagnosis.models import Label, Scan


class ScanFilter(django_filters.FilterSet):
    label = django_filters.ChoiceFilter(choices=Label.choices, help_text="Only scans with this result.")
    status = django_filters.ChoiceFilter(choices=Scan.Status.choices, help_text="Only scans in this state.")
    date_from = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__gte", help_text="Only scans from this day on (YYYY-MM-DD)."
    )
    date_to = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__lte", help_text="Only scans up to and including this day."
    )

    class Meta:
        model = Scan
        fields = ["label", "status", "date_from", "date_to"]

    def filter_queryset(self, queryset):
        data = self.form.cleaned_data
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise ValidationError({"date_to": ["date_to must not be before date_from."]})
        return selectors.scans_for_owner(
            self.request.user,
            label=data.get("label") or None,
            status=data.get("status") or None,
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            with_photos=True,  # each scan lists its photos
        )
