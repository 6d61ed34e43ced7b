#!/usr/bin/env python3
"""Start the Django test backend: migrate, seed users, serve on loopback with waitress.

    python tests/django/serve.py --database /tmp/x/db.sqlite3 --user demo:demo-password \
        [--port 0] [--threads 16] [--exit-on-stdin-eof] \
        [--project DIR --settings MODULE] [--email-domain example.com]

--project/--settings serve another project, e.g. one of tests/django/stacks/<stack>
(`--project tests/django/stacks/djoser --settings stack_site.settings`); the default is
tessera_site here. A project's settings may name TESSERA_SEED_HOOK, a function called with the
seeded user names after migrate (it may print lines, before "Listening on").

Prints "Listening on http://127.0.0.1:PORT/" (port 0 picks a free one) once it accepts
connections. Token lifetimes, rotation and test controls come from the TESSERA_* environment
variables documented in tessera_site/settings.py. With --exit-on-stdin-eof the server exits
when its stdin closes, so a test runner that dies never leaves it behind.
"""

import argparse
import os
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--database", required=True, help="SQLite file (created and migrated)")
    parser.add_argument(
        "--user", action="append", default=[], metavar="NAME:PASSWORD",
        help="create or update this user (repeatable)",
    )
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--project", default=HERE, help="directory put first on sys.path")
    parser.add_argument("--settings", default=None, help="Django settings module")
    parser.add_argument(
        "--email-domain", default=None, metavar="DOMAIN",
        help="give each --user the email NAME@DOMAIN (default: leave emails alone)",
    )
    parser.add_argument("--exit-on-stdin-eof", action="store_true")
    return parser.parse_args()


def seed_users(specs: list[str], email_domain: str | None) -> list[str]:
    from django.contrib.auth import get_user_model

    user_model = get_user_model()
    names = []
    for spec in specs:
        name, sep, password = spec.partition(":")
        if not sep or not name:
            raise SystemExit(f"--user wants NAME:PASSWORD, got {name!r}")
        user, _created = user_model.objects.get_or_create(username=name)
        user.set_password(password)
        user.is_active = True
        if email_domain:
            user.email = f"{name}@{email_domain}"
        user.save()
        names.append(name)
    return names


def watch_stdin() -> None:
    try:
        while sys.stdin.buffer.read(4096):
            pass
    finally:
        os._exit(0)


def main() -> None:
    args = parse_args()
    sys.path.insert(0, os.path.abspath(args.project))
    if args.settings:
        os.environ["DJANGO_SETTINGS_MODULE"] = args.settings
    else:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tessera_site.settings")
    os.environ["TESSERA_DB_PATH"] = os.path.abspath(args.database)

    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    names = seed_users(args.user, args.email_domain)

    from django.conf import settings
    from django.core.wsgi import get_wsgi_application
    from django.utils.module_loading import import_string
    from waitress import create_server

    hook = getattr(settings, "TESSERA_SEED_HOOK", None)
    if hook:
        import_string(hook)(names)
    application = get_wsgi_application()

    server = create_server(
        application,
        host=args.host,
        port=args.port,
        threads=args.threads,
        connection_limit=4096,
        backlog=4096,
        channel_timeout=120,
        ident="tessera-django",
    )
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"Listening on http://{host}:{server.effective_port}/", flush=True)
    if names:
        print(f"Accounts: {', '.join(names)}", flush=True)
    if args.exit_on_stdin_eof:
        threading.Thread(target=watch_stdin, daemon=True).start()
    server.run()


if __name__ == "__main__":
    main()
