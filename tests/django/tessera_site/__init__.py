"""A minimal Django + DRF + simplejwt project: the "real" backend Tessera is tested against.

Configured like the simplejwt tutorials (rotation and blacklist-after-rotation on), with the
same protected demo endpoints as the Rust reference backend (crates/backend). Everything that
tests need to vary comes from environment variables, see settings.py.
"""
