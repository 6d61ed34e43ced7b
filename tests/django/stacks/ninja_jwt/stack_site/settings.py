"""django-ninja-jwt 5.4.5 (no DRF, no simplejwt): NINJA_JWT with rotation + its blacklist app.

Knobs: see stack_common/base.py. TESSERA_AUTH_HEADER_TYPE does not apply: ninja's JWTAuth
is an HttpBearer and only ever accepts "Bearer" (reference doc, section 4).
"""

from stack_common.base import *  # noqa: F401,F403
from stack_common.base import JWT_SETTINGS

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "ninja_extra",
    "ninja_jwt",
    "ninja_jwt.token_blacklist",
]
NINJA_JWT = {**JWT_SETTINGS, "ALGORITHM": "HS256"}
TESSERA_REFRESH_PATH = "/api/token/refresh"
