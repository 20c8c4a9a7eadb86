from django.conf import settings


def disclaimer(request):
    return {"DISCLAIMER": settings.DISCLAIMER, "SITE_NAME": settings.SITE_NAME}
