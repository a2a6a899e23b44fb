"""flowwire in front of a single-file Django project.

    uvicorn examples.django_app:application
    hypercorn examples.django_app:application

Browsers connect to ws://localhost:8000/ws; GET /ws/stats, POST /ws/publish.
"""

from __future__ import annotations

import os

# Django ships no type hints (django-stubs adds them):
# mypy: disable-error-code="import-untyped"
from django.conf import settings
from django.core.asgi import get_asgi_application
from django.http import HttpRequest, HttpResponse
from django.urls import path

from flowwire import FlowwireMiddleware

settings.configure(
    SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY", "change-me"),
    ALLOWED_HOSTS=["localhost", "127.0.0.1"],
    ROOT_URLCONF=__name__,
)


def hello(request: HttpRequest) -> HttpResponse:
    return HttpResponse("hello", content_type="text/plain; charset=utf-8")


urlpatterns = [path("", hello)]

# Django's ASGI handler refuses the lifespan scope; the middleware runs it for flowwire.
application = FlowwireMiddleware(
    get_asgi_application(),
    path="/ws",
    api_key=os.environ.get("FLOWWIRE_API_KEY", "change-me"),
)
flowwire = application.flowwire
app = application
