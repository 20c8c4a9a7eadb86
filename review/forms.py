from django import forms
from django.utils.translation import gettext_lazy as _

from diagnosis.models import Label, quality_flag_name
from diagnosis.readouts.lesions import GRADE_NAMES
from ml.models import ModelVersion

from . import selectors
from .models import ReviewLabel

FLAG_CHOICES = [(f, quality_flag_name(f)) for f in selectors.QUALITY_FLAGS] + [
    (selectors.NO_FLAGS, _("no flags"))]


class QueueFilterForm(forms.Form):
    order = forms.ChoiceField(
        label=_("Order"),
        choices=[(selectors.ORDER_UNCERTAIN, _("Most uncertain first")), (selectors.ORDER_OLDEST, _("Oldest first"))],
        required=False,
    )
    label = forms.ChoiceField(choices=[("", _("Any predicted label")), *Label.choices], required=False,
                              label=_("Predicted label"))
    flags = forms.MultipleChoiceField(choices=FLAG_CHOICES, required=False, widget=forms.CheckboxSelectMultiple,
                                      label=_("Quality flags"))
    # Only versions whose results were served: reviewers never learn of a shadow version while they review.
    model_version = forms.ModelChoiceField(queryset=selectors.served_versions(), required=False,
                                           empty_label=_("Any model version"))

    def filters(self) -> dict:
        """Selector keyword arguments; invalid input falls back to the unfiltered queue."""
        data = self.cleaned_data if self.is_valid() else {}
        return {
            "order": data.get("order") or selectors.ORDER_UNCERTAIN,
            "label": data.get("label") or None,
            "flags": tuple(data.get("flags") or ()),
            "model_version": data.get("model_version"),
        }

    def querystring(self) -> str:
        """The valid filters, re-encoded, to carry from the queue to each review page and on."""
        from django.http import QueryDict

        qd = QueryDict(mutable=True)
        f = self.filters()
        if f["order"] != selectors.ORDER_UNCERTAIN:
            qd["order"] = f["order"]
        if f["label"]:
            qd["label"] = f["label"]
        if f["flags"]:
            qd.setlist("flags", list(f["flags"]))
        if f["model_version"] is not None:
            qd["model_version"] = str(f["model_version"].pk)
        return qd.urlencode()


class ReviewForm(forms.Form):
    label = forms.ChoiceField(choices=ReviewLabel.choices, widget=forms.RadioSelect, label=_("Your label"))
    # Shown only for a scan with lesion findings; kept only with the label acne (review.services.save_review).
    lesion_grade = forms.TypedChoiceField(
        choices=[("", _("Not graded"))] + [(str(g), name) for g, name in enumerate(GRADE_NAMES)],
        coerce=int, empty_value=None, required=False, label=_("Acne grade (Hayashi: spots on the half face)"),
    )
    comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=2000,
                              label=_("Comment (optional, not shown to the user)"))


class DashboardFilterForm(forms.Form):
    model_version = forms.ModelChoiceField(queryset=ModelVersion.objects.all(), required=False,
                                           empty_label=_("All model versions"))
    period = forms.ChoiceField(choices=[("week", _("Week")), ("day", _("Day")), ("month", _("Month"))], required=False,
                               label=_("Over time by"))

    def filters(self) -> dict:
        data = self.cleaned_data if self.is_valid() else {}
        return {"model_version": data.get("model_version"), "period": data.get("period") or "week"}

    def querystring(self) -> str:
        from django.http import QueryDict

        qd = QueryDict(mutable=True)
        f = self.filters()
        if f["model_version"] is not None:
            qd["model_version"] = str(f["model_version"].pk)
        qd["period"] = f["period"]
        return qd.urlencode()
