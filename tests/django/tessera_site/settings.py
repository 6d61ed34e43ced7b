"""Settings for the Django test backend. Every knob comes from an environment variable.

TESSERA_DB_PATH            SQLite file (put it in a temp dir; default: db.sqlite3 beside manage.py)
TESSERA_SECRET_KEY         signing key (HS256); a fixed test-only default keeps restarts valid
TESSERA_ACCESS_LIFETIME    access token lifetime in seconds (default 300)
TESSERA_REFRESH_LIFETIME   refresh token lifetime in seconds (default 86400)
TESSERA_ROTATE_REFRESH_TOKENS     "1"/"0" (default 1)
TESSERA_BLACKLIST_AFTER_ROTATION  "1"/"0" (default 1)
TESSERA_LEEWAY             seconds of leeway for exp/iat checks (default 0)
TESSERA_PASSWORD_ITERATIONS  PBKDF2 iterations for new hashes (default: Django's); tests use
                           a small number so logins are fast
TESSERA_TEST_CONTROLS      "1" mounts /_test/ endpoints and their middleware (never by default)
"""

import os
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    return raw in ("1", "true", "yes", "on")


# Test-only backend: the key only has to be stable across restarts of one test.
SECRET_KEY = os.environ.get(
    "TESSERA_SECRET_KEY", "tessera-django-test-backend-not-a-secret-0123456789abcdef"
)
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]", "::1"]

TEST_CONTROLS = _env_bool("TESSERA_TEST_CONTROLS", False)

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]
if TEST_CONTROLS:
    # Outermost, so it counts what the client really receives (redirects included).
    MIDDLEWARE.insert(0, "tessera_site.test_controls.TestControlsMiddleware")

# Where the test controls inject refresh failures.
TESSERA_REFRESH_PATH = "/api/token/refresh/"

ROOT_URLCONF = "tessera_site.urls"
WSGI_APPLICATION = "tessera_site.wsgi.application"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("TESSERA_DB_PATH", str(BASE_DIR / "db.sqlite3")),
        "OPTIONS": {
            # Many threads write (blacklist, outstanding tokens): wait for the lock instead
            # of failing with "database is locked", and let readers run beside a writer.
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL;",
        },
    }
}

_iterations = _env_int("TESSERA_PASSWORD_ITERATIONS", 0)
if _iterations > 0:
    PASSWORD_HASHERS = ["tessera_site.hashers.ConfigurablePBKDF2PasswordHasher"]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REST_FRAMEWORK = {
    # JWTAuthentication first, so unauthenticated requests get 401 (not 403).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=_env_int("TESSERA_ACCESS_LIFETIME", 300)),
    "REFRESH_TOKEN_LIFETIME": timedelta(seconds=_env_int("TESSERA_REFRESH_LIFETIME", 86400)),
    "ROTATE_REFRESH_TOKENS": _env_bool("TESSERA_ROTATE_REFRESH_TOKENS", True),
    "BLACKLIST_AFTER_ROTATION": _env_bool("TESSERA_BLACKLIST_AFTER_ROTATION", True),
    "UPDATE_LAST_LOGIN": False,
    "LEEWAY": _env_int("TESSERA_LEEWAY", 0),
    "ALGORITHM": "HS256",
    "AUTH_HEADER_TYPES": ("Bearer",),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    # 4xx are expected in tests; only server errors are worth printing.
    "loggers": {"django": {"handlers": ["console"], "level": "ERROR"}},
}
