"""Tutorial routes: /user/login, /user/logout, /user/me (no trailing slashes, as written in
the tutorial), simplejwt's /api/token/refresh/, the echo endpoint, and the test controls."""

from django.urls import path
from rest_framework_simplejwt.views import TokenRefreshView
from stack_common import test_controls
from stack_common.drf_views import EchoView, MeView

from .views import LoginView, LogoutView

urlpatterns = [
    path("user/login", LoginView.as_view()),
    path("user/logout", LogoutView.as_view()),
    path("user/me", MeView.as_view()),
    path("api/token/refresh/", TokenRefreshView.as_view()),
    path("api/echo/", EchoView.as_view()),
    *test_controls.mounted(),
]
