"""Server-side TOTP enrolment for the dj-rest-auth 7.2 stack (serve.py's seed hook).

TESSERA_MFA_TOTP="NAME:BASE32SECRET" activates TOTP for user NAME with that secret through
dj_rest_auth.mfa's own helpers, so a test can compute codes from a secret it chose. The
recovery codes are printed as "Recovery codes: a,b,..." before serve.py prints "Listening on".
On a restart with the same database the unused codes are kept (used ones stay used).
"""

import os


def enrol_from_env(_names: list) -> None:
    spec = os.environ.get("TESSERA_MFA_TOTP", "").strip()
    if not spec:
        return
    name, sep, secret = spec.partition(":")
    if not sep or not name or not secret:
        raise SystemExit(f"TESSERA_MFA_TOTP wants NAME:BASE32SECRET, got {name!r}")

    from dj_rest_auth.mfa.models import Authenticator
    from dj_rest_auth.mfa.recovery_codes import RecoveryCodes
    from dj_rest_auth.mfa.totp import TOTP
    from django.contrib.auth import get_user_model

    try:
        user = get_user_model().objects.get(username=name)
    except get_user_model().DoesNotExist:
        raise SystemExit(f"TESSERA_MFA_TOTP names {name!r}, which is not a --user") from None
    TOTP.activate(user, secret.upper())
    has_codes = Authenticator.objects.filter(
        user=user, type=Authenticator.Type.RECOVERY_CODES
    ).exists()
    codes = RecoveryCodes.get_unused_codes(user) if has_codes else RecoveryCodes.activate(user)
    print(f"MFA: TOTP active for {name}", flush=True)
    print(f"Recovery codes: {','.join(codes)}", flush=True)
