"""pytest against an API through Tessera's local proxy: the session, its refreshes and its
sign-out stay in Tessera; the tests only ever see $TESSERA_PROXY, never a token.

    tessera-cli --profile staging exec -- python -m pytest examples/qa/

Adapt the paths to your API; /api/hello/ and /api/me/ are the demo backends' endpoints.
"""

import os

import pytest
import requests


@pytest.fixture(scope="session")
def api_base() -> str:
    base = os.environ.get("TESSERA_PROXY")
    if not base:
        pytest.fail("run the tests under `tessera-cli exec -- python -m pytest ...`")
    return base


@pytest.fixture(scope="session")
def http() -> requests.Session:
    with requests.Session() as session:
        yield session


def test_a_protected_endpoint_answers(api_base, http):
    response = http.get(f"{api_base}/api/hello/", timeout=30)
    assert response.status_code == 200, response.text
    assert response.json()["message"] == "Hello, World!"


def test_the_signed_in_user_is_known(api_base, http):
    response = http.get(f"{api_base}/api/me/", timeout=30)
    assert response.status_code == 200, response.text
    assert response.json()["username"]
