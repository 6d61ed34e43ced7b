"""djoser 2.3.5 with simplejwt (JWT only, TOKEN_MODEL None), as in the reference doc.

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
    "djoser",
]
REST_FRAMEWORK = drf_settings("rest_framework_simplejwt.authentication.JWTAuthentication")
SIMPLE_JWT = simple_jwt()
DJOSER = {"TOKEN_MODEL": None}
TESSERA_REFRESH_PATH = "/auth/jwt/refresh/"
