"""dj-rest-auth 7.2.0 + simplejwt, optionally with dj_rest_auth.mfa (TOTP), as in the reference doc.

Knobs beyond stack_common/base.py:
TESSERA_JWT_MODE          "body" (JWT_AUTH_HTTPONLY=False, default) or "cookie"
                          (JWT_AUTH_COOKIE + JWT_AUTH_REFRESH_COOKIE, HttpOnly)
TESSERA_JWT_ACCESS_COOKIE   access cookie name in cookie mode (default "my-app-auth")
TESSERA_JWT_REFRESH_COOKIE  refresh cookie name in cookie mode (default "my-refresh-token")
TESSERA_JWT_COOKIE_USE_CSRF "1": JWT_AUTH_COOKIE_USE_CSRF=True, and DRF's SessionAuthentication
                          after JWTCookieAuthentication (a common setup): then a request
                          carrying the login's sessionid cookie must pass Django's CSRF check
TESSERA_MFA_TOTP          "NAME:BASE32SECRET": MFA on (MFALoginView at login/, mfa/ routes),
                          TOTP enrolled for NAME by stack_common.mfa
TESSERA_MFA_EPHEMERAL_TOKEN_TIMEOUT  seconds (default 300, the package's)
"""

from stack_common.base import *  # noqa: F401,F403
from stack_common.base import MIDDLEWARE, drf_settings, env_bool, env_int, env_str, simple_jwt

MFA = bool(env_str("TESSERA_MFA_TOTP", ""))
COOKIE_MODE = env_str("TESSERA_JWT_MODE", "body") == "cookie"

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
    "dj_rest_auth",
    "dj_rest_auth.mfa",
]
MIDDLEWARE = MIDDLEWARE + [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
REST_FRAMEWORK = drf_settings("dj_rest_auth.jwt_auth.JWTCookieAuthentication")
if env_bool("TESSERA_JWT_COOKIE_USE_CSRF", False):
    REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"].append(
        "rest_framework.authentication.SessionAuthentication"
    )
SIMPLE_JWT = simple_jwt()
REST_AUTH = {
    "USE_JWT": True,
    "TOKEN_MODEL": None,
    "JWT_AUTH_HTTPONLY": COOKIE_MODE,
    "JWT_AUTH_COOKIE_USE_CSRF": env_bool("TESSERA_JWT_COOKIE_USE_CSRF", False),
    "MFA_EPHEMERAL_TOKEN_TIMEOUT": env_int("TESSERA_MFA_EPHEMERAL_TOKEN_TIMEOUT", 300),
}
if COOKIE_MODE:
    REST_AUTH["JWT_AUTH_COOKIE"] = env_str("TESSERA_JWT_ACCESS_COOKIE", "my-app-auth")
    REST_AUTH["JWT_AUTH_REFRESH_COOKIE"] = env_str("TESSERA_JWT_REFRESH_COOKIE", "my-refresh-token")

TESSERA_REFRESH_PATH = "/dj-rest-auth/token/refresh/"
TESSERA_SEED_HOOK = "stack_common.mfa.enrol_from_env"
