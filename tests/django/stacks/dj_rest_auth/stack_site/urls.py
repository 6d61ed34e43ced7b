"""dj-rest-auth at its docs' mount (dj-rest-auth/); with MFA, MFALoginView takes the login route
first and dj_rest_auth.mfa.urls adds mfa/verify/ etc. (as the package's own tests/mfa_urls.py)."""

from django.conf import settings
from django.urls import include, path, re_path
from stack_common import test_controls
from stack_common.drf_views import EchoView

urlpatterns = [path("api/echo/", EchoView.as_view())]
if settings.MFA:
    from dj_rest_auth.mfa.views import MFALoginView

    urlpatterns += [
        re_path(r"^dj-rest-auth/login/?$", MFALoginView.as_view(), name="rest_login"),
        path("dj-rest-auth/", include("dj_rest_auth.mfa.urls")),
    ]
urlpatterns += [path("dj-rest-auth/", include("dj_rest_auth.urls")), *test_controls.mounted()]
