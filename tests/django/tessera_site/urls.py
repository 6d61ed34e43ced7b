"""URL map: simplejwt's views at the paths its docs use, the demo endpoints, test controls."""

from django.conf import settings
from django.urls import path
from rest_framework_simplejwt.views import (
    TokenBlacklistView,
    TokenObtainPairView,
    TokenRefreshView,
    TokenVerifyView,
)

from . import views

urlpatterns = [
    path("api/token/", TokenObtainPairView.as_view(), name="token_obtain_pair"),
    path("api/token/refresh/", TokenRefreshView.as_view(), name="token_refresh"),
    path("api/token/verify/", TokenVerifyView.as_view(), name="token_verify"),
    path("api/token/blacklist/", TokenBlacklistView.as_view(), name="token_blacklist"),
    path("api/hello/", views.HelloView.as_view(), name="hello"),
    path("api/me/", views.MeView.as_view(), name="me"),
    path("api/echo/", views.EchoView.as_view(), name="echo"),
    path("api/register/", views.RegisterView.as_view(), name="register"),
    path("api/download/", views.DownloadView.as_view(), name="download"),
    path("api/upload/", views.UploadView.as_view(), name="upload"),
    path("api/echo-headers/", views.EchoHeadersView.as_view(), name="echo_headers"),
]

if settings.TEST_CONTROLS:
    from . import test_controls

    urlpatterns += test_controls.urlpatterns
