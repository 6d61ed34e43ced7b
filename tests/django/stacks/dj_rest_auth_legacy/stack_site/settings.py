"""dj-rest-auth 2.2.8 (flat settings, no REST_AUTH dict) + simplejwt, as in the reference doc.

Knobs beyond stack_common/base.py: TESSERA_JWT_MODE ("body" | "cookie"),
TESSERA_JWT_ACCESS_COOKIE, TESSERA_JWT_REFRESH_COOKIE, TESSERA_JWT_COOKIE_USE_CSRF, with the
same meaning as for the dj_rest_auth (7.2) stack.
"""

from stack_common.base import *  # noqa: F401,F403
from stack_common.base import MIDDLEWARE, drf_settings, env_bool, env_str, simple_jwt

COOKIE_MODE = env_str("TESSERA_JWT_MODE", "body") == "cookie"

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
    "dj_rest_auth",
]
MIDDLEWARE = MIDDLEWARE + [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
REST_FRAMEWORK = drf_settings("dj_rest_auth.jwt_auth.JWTCookieAuthentication")
SIMPLE_JWT = simple_jwt()
REST_USE_JWT = True
REST_AUTH_TOKEN_MODEL = None
JWT_AUTH_HTTPONLY = COOKIE_MODE
JWT_AUTH_COOKIE_USE_CSRF = env_bool("TESSERA_JWT_COOKIE_USE_CSRF", False)
if COOKIE_MODE:
    JWT_AUTH_COOKIE = env_str("TESSERA_JWT_ACCESS_COOKIE", "my-app-auth")
    JWT_AUTH_REFRESH_COOKIE = env_str("TESSERA_JWT_REFRESH_COOKIE", "my-refresh-token")

TESSERA_REFRESH_PATH = "/dj-rest-auth/token/refresh/"
