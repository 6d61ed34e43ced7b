"""dj-rest-auth 2.2.8 at dj-rest-auth/ (trailing slashes required), echo, test controls."""

from django.urls import include, path
from stack_common import test_controls
from stack_common.drf_views import EchoView

urlpatterns = [
    path("dj-rest-auth/", include("dj_rest_auth.urls")),
    path("api/echo/", EchoView.as_view()),
    *test_controls.mounted(),
]
