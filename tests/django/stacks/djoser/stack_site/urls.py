"""djoser's own mount (auth/ + auth/jwt/...), the echo endpoint, and the test controls."""

from django.urls import include, path
from stack_common import test_controls
from stack_common.drf_views import EchoView

urlpatterns = [
    path("auth/", include("djoser.urls")),
    path("auth/", include("djoser.urls.jwt")),
    path("api/echo/", EchoView.as_view()),
    *test_controls.mounted(),
]
