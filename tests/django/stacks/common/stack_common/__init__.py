"""Code shared by the per-stack Django test projects (tests/django/stacks/<stack>/).

Each stack's settings.py puts tests/django/stacks/common on sys.path and builds on
stack_common.base, so the environment knobs, the SQLite setup and the /_test/ controls are
written once instead of five times.
"""
