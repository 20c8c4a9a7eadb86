"""English and Spanish: chosen from the browser or the language menu, complete catalogue, localised dates."""

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse

from diagnosis.models import Scan
from diagnosis.tests.factories import ScanFactory
from reminders import services as reminder_services

pytestmark = pytest.mark.django_db
CATALOGUE = Path(settings.BASE_DIR) / "locale" / "es" / "LC_MESSAGES" / "django.po"


def test_the_browser_language_picks_spanish(client):
    html = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="es-ES,es;q=0.9").content.decode()
    assert '<html lang="es">' in html
    assert "Sigue la evolución de la piel de tu cara" in html and "no un diagnóstico" in html
    english = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en-US").content.decode()
    assert "Track your facial skin over time" in english


def test_the_language_menu_switches_and_remembers(user_client):
    response = user_client.post(reverse("set_language"), {"language": "es", "next": reverse("diagnosis:history")})
    assert response.status_code == 302
    html = user_client.get(reverse("diagnosis:history")).content.decode()
    assert "El historial de tu piel" in html and 'aria-current="page">Historial<' in html


def test_result_page_in_spanish_with_localised_dates(user_client, user):
    scan = ScanFactory(owner=user, label="acne", quality={"no_colour": True})
    Scan.objects.filter(id=scan.id).update(created_at=datetime(2026, 8, 14, 10, 30, tzinfo=UTC))
    user_client.post(reverse("set_language"), {"language": "es"})
    html = user_client.get(reverse("diagnosis:scan-detail", args=[scan.id])).content.decode()
    for text in ("Probablemente acné", "Cuándo ir al médico", "Acné", "Eccema", "Rosácea",
                 "Hace falta una foto en color"):
        assert text in html, text
    assert "Análisis del 14 Ago 2026, 10:30" in html  # "Aug" in English


def test_reminder_e_mail_goes_out_in_the_language_chosen_when_opting_in(client, user):
    client.force_login(user)
    client.post(reverse("set_language"), {"language": "es"})
    client.post(reverse("reminders:settings"), {"frequency": "weekly", "time_zone": "Europe/Madrid"})
    pref = user.reminder
    assert pref.language == "es"
    assert reminder_services.send_due_reminders(now=pref.next_due_at) == 1
    message = mail.outbox[-1]
    assert "Es hora de tu próxima foto" in message.subject and "cada semana" in message.body


def test_the_spanish_catalogue_is_complete():
    text = CATALOGUE.read_text()
    assert "#, fuzzy" not in text
    entries = text.split("\n\n")[1:]  # after the header
    untranslated = [e for e in entries if re.search(r'^msgstr(\[\d\])? ""\n?$', e, re.M)
                    and not re.search(r'^msgstr(\[\d\])? ""\n"', e, re.M)]
    assert untranslated == []
    assert len(entries) > 250
