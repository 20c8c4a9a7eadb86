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
    assert "Análisis del 14 ago 2026, 10:30" in html  # "14 Aug 2026, 10:30" in English


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


# --- staff review pages, upload and API errors, the profile's language ------------------------------------

@pytest.fixture
def reviewer_client(client, django_user_model):
    from review import services as review_services

    group, _created = review_services.ensure_reviewer_group()
    reviewer = django_user_model.objects.create_user(email="dr.who@example.com", password="correct horse battery")
    reviewer.groups.add(group)
    client.force_login(reviewer)
    return client


def test_the_review_queue_and_review_page_in_spanish(reviewer_client, user):
    scan = ScanFactory(owner=user, label="eczema", quality={"blurry": True})
    spanish = {"HTTP_ACCEPT_LANGUAGE": "es"}
    html = reviewer_client.get(reverse("review:queue"), **spanish).content.decode()
    for text in ("Cola de revisión", "Panel de concordancia", "<strong>1</strong> análisis sin revisar.",
                 "Empezar a revisar", "Las más dudosas primero", "Avisos de calidad", "Eccema", "Revisar"):
        assert text in html, text
    assert "unreviewed" not in html and "Start reviewing" not in html
    page = reviewer_client.get(reverse("review:review-scan", args=[scan.id]), **spanish).content.decode()
    for text in ("Queda 1 análisis en esta cola", "Confirmar «Eccema» y siguiente", "Tu etiqueta",
                 "Foto no utilizable", "Guardar etiqueta y siguiente", "Volver a la cola",
                 "La foto parece borrosa"):
        assert text in page, text
    response = reviewer_client.post(reverse("review:review-scan", args=[scan.id]), {"action": "confirm"},
                                    follow=True, **spanish)
    assert "La cola está vacía. Gracias." in response.content.decode()
    dashboard = reviewer_client.get(reverse("review:dashboard"), **spanish).content.decode()
    assert "Concordancia entre modelo y revisor" in dashboard and "Matriz de confusión" in dashboard
    assert "Semana que empieza" in dashboard and "Foto no utilizable" in dashboard  # a matrix column


def test_an_upload_rejection_in_spanish_on_the_page(user_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    photo = SimpleUploadedFile("face.jpg", b"%PDF-1.4 not an image at all", content_type="image/jpeg")
    response = user_client.post(reverse("diagnosis:upload"), {"image": photo}, HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 415
    assert "Este archivo no es una foto que podamos leer. Sube una imagen JPEG, PNG o WebP." in (
        response.content.decode())


def test_an_upload_rejection_in_spanish_through_the_api(user):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user)
    photo = SimpleUploadedFile("face.jpg", b"", content_type="image/jpeg")
    response = client.post(reverse("api:scan-list"), {"image": photo}, format="multipart",
                           HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "empty_file"  # machine-readable codes stay as they are
    assert error["message"] == "El archivo está vacío (0 bytes). Elige una foto para subir."
    assert error["fields"]["image"] == [error["message"]]
    missing = client.get(reverse("api:scan-detail", args=["not-a-uuid"]), HTTP_ACCEPT_LANGUAGE="es").json()
    assert missing["error"] == {"code": "not_found", "message": "No existe ese análisis.", "fields": {}}
    english = client.post(reverse("api:scan-list"), {"image": SimpleUploadedFile("f.jpg", b"")}, format="multipart",
                          HTTP_ACCEPT_LANGUAGE="en").json()["error"]
    assert english["message"] == "The file is empty (0 bytes). Choose a photo to upload."


def test_the_profile_language_wins_over_the_browser(user_client, user):
    response = user_client.post(reverse("profile"), {"display_name": "", "language": "es"},
                                HTTP_ACCEPT_LANGUAGE="en-GB")
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.language == "es"
    user_client.cookies.pop(settings.LANGUAGE_COOKIE_NAME, None)  # another device: only the profile knows
    html = user_client.get(reverse("diagnosis:history"), HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9").content.decode()
    assert '<html lang="es">' in html and "El historial de tu piel" in html
    profile = user_client.get(reverse("profile"), HTTP_ACCEPT_LANGUAGE="en-GB").content.decode()
    assert '<option value="es" selected>' in profile and "Seguir el idioma de mi navegador" in profile
    # Blank follows the browser again (and forgets an older menu choice on this device).
    response = user_client.post(reverse("profile"), {"display_name": "", "language": ""})
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == ""
    user.refresh_from_db()
    assert user.language == ""
    html = user_client.get(reverse("diagnosis:history"), HTTP_ACCEPT_LANGUAGE="en-GB").content.decode()
    assert '<html lang="en-gb">' in html
    assert "Historial" in user_client.get(reverse("diagnosis:history"), HTTP_ACCEPT_LANGUAGE="es").content.decode()


def test_the_language_menu_saves_the_choice_on_the_profile(client, user):
    client.force_login(user)
    client.post(reverse("set_language"), {"language": "es", "next": reverse("diagnosis:history")})
    user.refresh_from_db()
    assert user.language == "es"
    client.logout()
    client.cookies.clear()  # a new device: signing in brings the language along
    client.force_login(user)
    html = client.get(reverse("diagnosis:history"), HTTP_ACCEPT_LANGUAGE="en-GB").content.decode()
    assert "El historial de tu piel" in html
    client.post(reverse("set_language"), {"language": "en-gb"})
    user.refresh_from_db()
    assert user.language == "en-gb"
    anonymous = reverse("set_language")
    client.logout()
    client.post(anonymous, {"language": "es"})  # signed out: only the cookie changes
    user.refresh_from_db()
    assert user.language == "en-gb"


def test_reminders_take_the_profile_language(client, user):
    user.language = "es"
    user.save(update_fields=["language"])
    client.force_login(user)
    client.post(reverse("reminders:settings"), {"frequency": "weekly", "time_zone": "Europe/Madrid"},
                HTTP_ACCEPT_LANGUAGE="en-GB")
    assert user.reminder.language == "es"
    client.post(reverse("profile"), {"display_name": "", "language": "en-gb"})
    user.reminder.refresh_from_db()
    assert user.reminder.language == "en-gb"  # a new profile language moves the e-mails along


def test_a_failure_and_the_analysis_state_in_spanish(user_client, user):
    scan = ScanFactory(owner=user, status=Scan.Status.FAILED, label="",
                       error="The uploaded photo is no longer stored, so it cannot be analysed.")
    html = user_client.get(reverse("diagnosis:scan-detail", args=[scan.id]), HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "La foto subida ya no está guardada, así que no se puede analizar." in html
    crashed = ScanFactory(owner=user, status=Scan.Status.FAILED, label="",
                          error="The photo could not be analysed (ValueError). Try another photo.")
    data = user_client.get(reverse("diagnosis:scan-status", args=[crashed.id]), HTTP_ACCEPT_LANGUAGE="es").json()
    assert data["error"] == "No se pudo analizar la foto (ValueError). Prueba con otra foto."


#: "usted" forms in Spanish messages: Django's own catalogue speaks so; the site says "tú" everywhere.
USTED = re.compile(r"\b(Su contraseña|Por favor|[Ii]ntroduzca|[Vv]uelva|Asegúrese|Observe)\b")


def test_djangos_own_messages_say_tu_like_the_rest_of_the_site(user_client):
    """Issue 32, point 3: a wrong old password said "Su contraseña antigua es incorrecta. Por favor, vuelva a
    introducirla"; our catalogue now words Django's messages as the site does."""
    page = user_client.post(reverse("password_change"), {"old_password": "not it", "new_password1": "1234",
                                                         "new_password2": "12345"}, HTTP_ACCEPT_LANGUAGE="es")
    html = page.content.decode()
    assert "Tu contraseña antigua no es correcta" in html and "Las dos contraseñas no coinciden" in html
    assert not USTED.search(html), USTED.search(html)
    from django.test import Client

    client = Client()  # signed out
    signup = client.post(reverse("signup"), {"email": "not an address", "password1": "1234", "password2": "1234"},
                         HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Introduce una dirección de correo electrónico válida" in signup and not USTED.search(signup)
    login = client.post(reverse("login"), {"username": "nobody@example.com", "password": "wrong"},
                        HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert not USTED.search(login)


def test_the_listed_framework_messages_are_djangos_own():
    """A listed string that is not exactly Django's msgid (a straight apostrophe, a changed word) would
    translate nothing: each must occur in Django's source."""
    import ast

    import django

    source = Path(django.__file__).parent
    django_text = "".join(p.read_text(encoding="utf-8") for sub in ("forms", "core", "contrib/auth")
                          for p in (source / sub).rglob("*.py"))
    django_text = re.sub(r'"\s*\n\s*"', "", django_text)  # implicit concatenation across lines
    listed = [node.value for node in ast.walk(ast.parse(Path(settings.BASE_DIR, "facediag_site",
                                                             "framework_messages.py").read_text()))
              if isinstance(node, ast.Constant) and isinstance(node.value, str) and "\n" not in node.value
              and not node.value.startswith(("Django", "``"))]
    assert len(listed) >= 12
    for text in listed:
        assert text in django_text, text
