from django import template

register = template.Library()


def _pc(value, signed=False):
    return f"{100 * value:+.1f}" if signed else f"{100 * value:.0f}"


@register.filter
def interval(item, signed=False):
    """A review.measures figure as "72% (65–78)": the value and its 95% interval, in percent."""
    if not isinstance(item, dict) or item.get("value") is None:
        return "–"
    text = f"{_pc(item['value'], signed)}%"
    if item.get("low") is not None:
        between = " … " if signed else "–"  # "-5.7–+2.8" would read as a subtraction
        text += f" ({_pc(item['low'], signed)}{between}{_pc(item['high'], signed)})"
    return text


@register.filter
def share(value):
    """A share (0..1) in percent, "–" when unknown."""
    return f"{100 * value:.1f}%" if isinstance(value, (int, float)) else "–"


@register.filter
def p_value(value):
    return f"{value:.2g}" if isinstance(value, (int, float)) else "–"


@register.filter
def pretty_name(value):
    """A stored code such as "very_light" or "quality: too_dark" in words."""
    return str(value).replace("_", " ")
