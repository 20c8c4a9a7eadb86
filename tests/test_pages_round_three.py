"""Rough edges a new user met (issue 23, point 7), as the server writes the pages. The layout at 360 px
(every form, the menus on one line, headers in whole words) is checked in tests/test_browser_pages.py."""

import re

import pytest
from django.urls import reverse

from diagnosis.tests.factories import ScanFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewer_client(client, user):
    from review import services as review_services

    group, _ = review_services.ensure_reviewer_group()
    user.groups.add(group)
    client.force_login(user)
    return client


def labels(html):
    main = html[html.index("<main"):html.index("</main>")]
    return [re.sub(r"<[^>]+>", "", text).strip() for text in re.findall(r"<label[^>]*>(.*?)</label>", main, re.S)]


def test_no_form_label_ends_in_a_colon(client, reviewer_client, user, other_user):
    scan = ScanFactory(owner=other_user, label="acne")
    mine = ScanFactory(owner=user, label="acne")
    signed_in = [reverse("diagnosis:upload"), reverse("diagnosis:history"), reverse("profile"),
                 reverse("account-delete"), reverse("password_change"), reverse("review:queue"),
                 reverse("review:review-scan", args=[scan.id]), reverse("review:dashboard"),
                 reverse("diagnosis:scan-detail", args=[mine.id]), reverse("diagnosis:report") + "?date_from=x"]
    found = {url: labels(reviewer_client.get(url).content.decode()) for url in signed_in}
    reviewer_client.logout()
    for url in (reverse("login"), reverse("signup"), reverse("password_reset")):
        found[url] = labels(client.get(url).content.decode())
    assert all(found.values()), {url: texts for url, texts in found.items() if not texts}
    assert {url: [t for t in texts if t.endswith(":")] for url, texts in found.items()
            if any(t.endswith(":") for t in texts)} == {}


def test_delete_account_offers_a_way_back(user_client):
    html = user_client.get(reverse("account-delete")).content.decode()
    assert re.search(r'<a href="/accounts/profile/" id="cancel-delete">Cancel</a>', html)


def test_a_waiting_scan_says_queued_once(user_client, user):
    scan = ScanFactory(owner=user, status="queued", label="")
    html = user_client.get(reverse("diagnosis:scan-detail", args=[scan.id])).content.decode()
    visible = re.sub(r'<p id="status-text" class="visually-hidden"[^>]*>.*?</p>', "", html, flags=re.S)
    assert len(re.findall(r">\s*Queued\s*<", visible)) == 1
    assert 'id="status-text" class="visually-hidden" aria-live="polite"' in html  # still read out when it changes


def test_history_notes_are_not_cut_at_40_characters(user_client, user):
    note = "Started the new cleanser on Monday; less redness on the cheeks since Thursday."
    ScanFactory(owner=user, label="acne", note=note)
    assert note in user_client.get(reverse("diagnosis:history")).content.decode()


def test_compare_selected_comes_after_the_list(user_client, user):
    ScanFactory(owner=user, label="acne")
    html = user_client.get(reverse("diagnosis:history")).content.decode()
    assert html.index("</table>", html.index('class="history cards"')) < html.index("Compare selected")


def test_review_chips_and_flags_are_words_not_codes(reviewer_client, other_user):
    flagged = ScanFactory(owner=other_user, label="uncertain", quality={"no_colour": True, "too_dark": True})
    clean = ScanFactory(owner=other_user, label="acne", quality={"blurry": False})
    queue = reviewer_client.get(reverse("review:queue")).content.decode()
    chips = re.findall(r'<span class="flag">([^<]*)</span>', queue)
    assert sorted(chips) == ["Black and white", "Too dark"]
    assert "no_colour" not in queue.split("<tbody>")[1]
    page = reviewer_client.get(reverse("review:review-scan", args=[flagged.id])).content.decode()
    assert "<strong>Black and white</strong>" in page and "<strong>no_colour</strong>" not in page
    none = reviewer_client.get(reverse("review:review-scan", args=[clean.id])).content.decode()
    assert "None." not in none and not re.search(r'class="warnings" id="quality-flags"', none)
    assert "No quality flags" in none
