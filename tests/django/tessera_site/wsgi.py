"""WSGI entry point (served by waitress from serve.py)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tessera_site.settings")

application = get_wsgi_application()
