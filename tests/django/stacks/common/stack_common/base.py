"""Settings shared by every stack project; a stack's settings.py does `from stack_common.base import *`.

Environment (the same names as tests/django/tessera_site/settings.py where they overlap):
TESSERA_DB_PATH, TESSERA_SECRET_KEY, TESSERA_ACCESS_LIFETIME (s, default 300),
TESSERA_REFRESH_LIFETIME (s, default 86400), TESSERA_ROTATE_REFRESH_TOKENS (1/0, default 1),
TESSERA_BLACKLIST_AFTER_ROTATION (1/0, default 1), TESSERA_LEEWAY (s, default 0),
TESSERA_TEST_CONTROLS (1 mounts /_test/), TESSERA_AUTH_HEADER_TYPE (e.g. JWT; DRF stacks).
Passwords are hashed with MD5: test-only, so logins are fast.
"""

import os
from datetime import timedelta


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    return raw in ("1", "true", "yes", "on")


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, "").strip() or default


SECRET_KEY = env_str("TESSERA_SECRET_KEY", "tessera-stack-test-backend-not-a-secret-0123456789")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]", "::1"]
TEST_CONTROLS = env_bool("TESSERA_TEST_CONTROLS", False)

# Outermost, so it counts what the client really receives (redirects included).
MIDDLEWARE = ["stack_common.test_controls.TestControlsMiddleware"] if TEST_CONTROLS else []
MIDDLEWARE += [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": env_str("TESSERA_DB_PATH", "db.sqlite3"),
        # Many threads write (blacklist, outstanding tokens): wait for the lock.
        "OPTIONS": {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL;",
        },
    }
}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
ROOT_URLCONF = "stack_site.urls"

# simplejwt (SIMPLE_JWT) and ninja-jwt (NINJA_JWT) read the same keys.
JWT_SETTINGS = {
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=env_int("TESSERA_ACCESS_LIFETIME", 300)),
    "REFRESH_TOKEN_LIFETIME": timedelta(seconds=env_int("TESSERA_REFRESH_LIFETIME", 86400)),
    "ROTATE_REFRESH_TOKENS": env_bool("TESSERA_ROTATE_REFRESH_TOKENS", True),
    "BLACKLIST_AFTER_ROTATION": env_bool("TESSERA_BLACKLIST_AFTER_ROTATION", True),
    "UPDATE_LAST_LOGIN": False,
    "LEEWAY": env_int("TESSERA_LEEWAY", 0),
}
AUTH_HEADER_TYPE = env_str("TESSERA_AUTH_HEADER_TYPE", "Bearer")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    # 4xx are expected in tests; only server errors are worth printing.
    "loggers": {"django": {"handlers": ["console"], "level": "ERROR"}},
}


def simple_jwt() -> dict:
    """SIMPLE_JWT for the DRF stacks, with the header type override."""
    return {**JWT_SETTINGS, "ALGORITHM": "HS256", "AUTH_HEADER_TYPES": (AUTH_HEADER_TYPE,)}


def drf_settings(authentication_class: str) -> dict:
    return {
        "DEFAULT_AUTHENTICATION_CLASSES": [authentication_class],
        "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
        "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    }
