""""No skin found" is not "Can't tell", and advice fits the result (issue 23, points 3 and 4)."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from diagnosis.tests.factories import ScanFactory

pytestmark = pytest.mark.django_db


def page(client, scan):
    return client.get(reverse("diagnosis:scan-detail", args=[scan.id])).content.decode()


def headline(html):
    return re.search(r'id="result-label">([^<]*)<', html).group(1).strip()


def tips(html):
    return re.findall(r"<li>([^<]*)</li>", html[html.index('id="retake-tips"'):html.index("</ul>", html.index(
        'id="retake-tips"'))])


def test_a_cat_and_a_black_and_white_photo_get_different_headlines_and_tips(user_client, user):
    cat = ScanFactory(owner=user, label="no_skin", reason="not_skin", quality={"no_face": True})
    grey = ScanFactory(owner=user, label="uncertain", reason="no_colour", quality={"no_colour": True})
    cat_page, grey_page = page(user_client, cat), page(user_client, grey)
    assert headline(cat_page) == "No skin found in this photo"
    assert headline(grey_page) == "Can&#x27;t tell from this photo"
    assert tips(cat_page)[0].startswith("Point the camera at your face")
    assert tips(grey_page)[0].startswith("Switch off black-and-white")
    assert not set(tips(cat_page)) & {tips(grey_page)[0]}
    assert 'class="result result-no_skin"' in cat_page and 'class="result result-uncertain"' in grey_page


def test_a_face_too_small_to_judge_asks_to_come_closer(user_client, user):
    small = ScanFactory(owner=user, label="uncertain", reason="too_small", quality={"too_small": True})
    html = page(user_client, small)
    assert headline(html) == "Can&#x27;t tell from this photo"
    assert "The face is too small in this photo to judge" in html
    assert tips(html)[0].startswith("Come closer")
    assert "The photo (or the face in it) is small" not in html  # the reason is not repeated as a warning


def test_history_tells_them_apart_and_the_no_skin_filter_shows_no_skin(user_client, user):
    ScanFactory(owner=user, label="no_skin", reason="not_skin")
    ScanFactory(owner=user, label="uncertain", reason="low_confidence")
    html = user_client.get(reverse("diagnosis:history")).content.decode()
    assert "No skin found in this photo" in html and "Can&#x27;t tell from this photo" in html
    only = user_client.get(reverse("diagnosis:history"), {"label": "no_skin"}).content.decode()
    cards = only[only.index("<tbody>"):only.index("</tbody>")]
    assert "No skin found in this photo" in cards and "Can&#x27;t tell" not in cards
    uncertain = user_client.get(reverse("diagnosis:history"), {"label": "uncertain"}).content.decode()
    cards = uncertain[uncertain.index("<tbody>"):uncertain.index("</tbody>")]
    assert "Can&#x27;t tell from this photo" in cards and "No skin found" not in cards


def test_a_healthy_result_cites_no_page_about_moles(user_client, user):
    html = page(user_client, ScanFactory(owner=user, label="healthy",
                                         probabilities={"acne": 0.1, "eczema": 0.05, "healthy": 0.8, "rosacea": 0.05}))
    assert "When to see a doctor" in html
    assert "mole" not in html.lower() and "nhs.uk/conditions/moles" not in html
    assert "does not settle" in html


def test_the_footer_disclaimer_fits_pages_without_a_result(user_client, user):
    from django.test import Client

    result_words = "whatever this result says"
    for url in (reverse("signup"), reverse("login")):
        html = Client().get(url).content.decode()
        assert "not a diagnosis" in html and result_words not in html, url
    assert result_words not in Client().get("/no/such/page/").content.decode()
    for url in (reverse("diagnosis:upload"), reverse("profile"), reverse("diagnosis:history")):
        html = user_client.get(url).content.decode()
        assert "not a diagnosis" in html and result_words not in html, url
    waiting = ScanFactory(owner=user, status="queued", label="")
    assert result_words not in page(user_client, waiting)
    assert result_words in page(user_client, ScanFactory(owner=user, label="acne"))


def test_the_welcome_and_reminder_emails_have_the_disclaimer_without_a_result(client, user, account_mail):
    from reminders import services as reminder_services

    client.post(reverse("signup"), {"email": "new@example.com", "password1": "a-long-secret-42",
                                    "password2": "a-long-secret-42"})
    welcome = account_mail.outbox[-1].body  # the confirmation e-mail, sent by a worker after the request
    assert "not a diagnosis" in welcome and "whatever this result says" not in welcome
    pref = reminder_services.set_preference(user, frequency="weekly", time_zone="UTC")
    reminder_services.send_due_reminders(now=pref.next_due_at)
    reminder = mail.outbox[-1]
    assert "not a diagnosis" in reminder.body and "whatever this result says" not in reminder.body


@pytest.mark.parametrize(("reason", "words", "tip"), [
    ("blurry", "too blurry to show spots or redness", "Hold the phone steady"),
    ("too_dark", "too dark to show spots or redness", "Face a window or a bright lamp"),
])
def test_a_photo_too_blurred_or_too_dark_says_so_and_gives_the_tip_that_fits(user_client, user, reason, words, tip):
    """Issue 29: "can't tell" with the problem named, never "healthy"; the flag is not repeated as a warning."""
    scan = ScanFactory(owner=user, label="uncertain", reason=reason, quality={reason: True})
    html = page(user_client, scan)
    assert headline(html) == "Can&#x27;t tell from this photo"
    assert words in html
    assert tips(html)[0].startswith(tip)
    assert "A sharper photo gives a more reliable result" not in html and "Try again in daylight" not in html


def test_the_blurry_and_too_dark_reasons_in_spanish(user_client, user):
    user_client.post(reverse("set_language"), {"language": "es"})
    for reason, words in (("blurry", "demasiado borrosa"), ("too_dark", "demasiado oscura")):
        scan = ScanFactory(owner=user, label="uncertain", reason=reason, quality={reason: True})
        assert words in page(user_client, scan)
