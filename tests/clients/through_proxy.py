#!/usr/bin/env python3
"""A real Python `requests` client of Tessera's local proxy, for the CLI's proxy tests
(crates/cli/tests/flows/proxy.rs). Reads the proxy's URL from $TESSERA_PROXY; prints one JSON
object on stdout.

    through_proxy.py concurrent N PATH   N threads, one GET each: statuses, bodies' "eyJ" count
    through_proxy.py post PATH JSON      one POST with a JSON body: status and parsed body
    through_proxy.py download PATH       streamed GET: status, byte count, SHA-256
    through_proxy.py upload PATH N       POST of N bytes (byte i = i % 256): status and body
"""

import hashlib
import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor

import requests

BASE = os.environ["TESSERA_PROXY"]


def tokens_in(response: requests.Response) -> int:
    """How often a JWT's first characters appear in an answer's headers and body."""
    headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
    return headers.count("eyJ") + response.text.count("eyJ")


def concurrent(count: int, path: str) -> dict:
    def one(_):
        response = requests.get(BASE + path, timeout=60)
        return response.status_code, tokens_in(response)

    with ThreadPoolExecutor(max_workers=count) as pool:
        results = list(pool.map(one, range(count)))
    return {
        "statuses": [status for status, _ in results],
        "tokens_seen": sum(seen for _, seen in results),
    }


def post(path: str, body: str) -> dict:
    response = requests.post(BASE + path, json=json.loads(body), timeout=60)
    return {"status": response.status_code, "body": response.json(), "tokens_seen": tokens_in(response)}


def download(path: str) -> dict:
    digest = hashlib.sha256()
    total = 0
    with requests.get(BASE + path, stream=True, timeout=60) as response:
        for chunk in response.iter_content(chunk_size=65536):
            digest.update(chunk)
            total += len(chunk)
        return {"status": response.status_code, "bytes": total, "sha256": digest.hexdigest()}


def upload(path: str, size: int) -> dict:
    block = bytes(range(256)) * 256
    data = (block * (size // len(block) + 1))[:size]
    response = requests.post(
        BASE + path, data=data, headers={"Content-Type": "application/octet-stream"}, timeout=120
    )
    return {
        "status": response.status_code,
        "body": response.json(),
        "sent_sha256": hashlib.sha256(data).hexdigest(),
    }


def main() -> None:
    command, *args = sys.argv[1:]
    if command == "concurrent":
        result = concurrent(int(args[0]), args[1])
    elif command == "post":
        result = post(args[0], args[1])
    elif command == "download":
        result = download(args[0])
    elif command == "upload":
        result = upload(args[0], int(args[1]))
    else:
        raise SystemExit(f"unknown command {command!r}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
