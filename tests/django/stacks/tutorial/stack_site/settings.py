"""The classic "simplejwt + custom views" tutorial: email login at /user/login answering
access_token/refresh_token, simplejwt's TokenRefreshView, a hand-written blacklisting logout.

Knobs: see stack_common/base.py (lifetimes, rotation, TESSERA_AUTH_HEADER_TYPE, test controls).
"""

from stack_common.base import *  # noqa: F401,F403
from stack_common.base import drf_settings, simple_jwt

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
]
REST_FRAMEWORK = drf_settings("rest_framework_simplejwt.authentication.JWTAuthentication")
SIMPLE_JWT = simple_jwt()
TESSERA_REFRESH_PATH = "/api/token/refresh/"
