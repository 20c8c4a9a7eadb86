"""The four conditions are defined once (diagnosis.models.Condition); every other label set follows it."""

from api.serializers import ProbabilitiesSerializer, SeriesSerializer
from diagnosis.models import CONDITIONS, Condition, Label
from ml.core import CLASSES
from review.models import USABLE_LABELS, ReviewLabel


def test_ml_classes_are_the_condition_values():
    assert CLASSES == tuple(Condition.values) == CONDITIONS  # ml.core has no Django: it keeps plain strings


def test_label_sets_are_built_from_the_conditions():
    assert Label.values == [*Condition.values, "uncertain", "no_skin"]
    assert ReviewLabel.values == [*Condition.values, "unusable"]
    assert USABLE_LABELS == CONDITIONS
    assert [label for _value, label in Label.choices][:4] == [label for _value, label in Condition.choices]


def test_the_api_schema_has_one_field_per_condition():
    assert list(ProbabilitiesSerializer().fields) == list(CONDITIONS)
    assert list(SeriesSerializer().fields) == list(CONDITIONS)
