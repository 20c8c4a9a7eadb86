from django import template

from diagnosis.models import Label

register = template.Library()


@register.filter
def percent(value):
    try:
        return f"{float(value) * 100:.0f}%"
    except (TypeError, ValueError):
        return "—"


@register.filter
def label_text(scan):
    if not scan.label:
        return "No result yet"
    return Label(scan.label).label
