"""PBKDF2-SHA256 with an iteration count from TESSERA_PASSWORD_ITERATIONS.

Same algorithm and hash format as Django's default hasher (and as the Rust backend), only
cheaper, so that test suites that log in hundreds of times stay fast.
"""

import os

from django.contrib.auth.hashers import PBKDF2PasswordHasher


class ConfigurablePBKDF2PasswordHasher(PBKDF2PasswordHasher):
    iterations = int(os.environ.get("TESSERA_PASSWORD_ITERATIONS", "0") or 0) or (
        PBKDF2PasswordHasher.iterations
    )
