#!/usr/bin/env python3
"""Checks a release's updater feed (latest.json): an entry for every way Tessera is installed.

tauri-plugin-updater looks up `<os>-<arch>-<installer>` first (the running bundle's type) and
falls back to `<os>-<arch>`. A `.deb` install that finds no `linux-x86_64-deb` entry downloads
whatever the plain key points at and fails to install it, so every installer needs its own
entry, pointing at a file of its own kind, signed for that very file.

Per required entry this checks: the URL is a file of the installer's kind (and, with --tag, under
/releases/download/<tag>/); the signature is a minisign signature (base64, as the Tauri CLI
writes `.sig` files) whose trusted comment names that file; all signatures come from one key
(with --pubkey: the key the app ships). With --release (the GitHub API's release JSON) every URL
is an asset of the release with a `.sig` asset beside it; with --sigs (a folder of the
downloaded `.sig` assets) the feed's signature is the asset's, byte for byte.

--complete OUT adds, from --release and --sigs, each required entry the feed lacks (a
tauri-action that writes only the plain keys), writes the result to OUT, then checks that.

Exit status: 0 every entry is good, 1 problems (each printed as `::error::...`), 2 unreadable
input. Standard library only: the release workflow runs it on a bare runner.
"""
from __future__ import annotations

import argparse
import base64
import binascii
import json
import sys
from pathlib import Path

# The keys tauri-plugin-updater looks up, and the file each must point at.
KINDS = {
    "darwin-aarch64": (".app.tar.gz",),
    "darwin-aarch64-app": (".app.tar.gz",),
    "darwin-x86_64": (".app.tar.gz",),
    "darwin-x86_64-app": (".app.tar.gz",),
    "linux-x86_64": (".AppImage", ".deb", ".rpm"),
    "linux-x86_64-appimage": (".AppImage",),
    "linux-x86_64-deb": (".deb",),
    "linux-x86_64-rpm": (".rpm",),
    "windows-x86_64": ("-setup.exe", ".msi"),
    "windows-x86_64-nsis": ("-setup.exe",),
    "windows-x86_64-msi": (".msi",),
}
REQUIRED = tuple(KINDS)
# How each architecture is spelt in the Tauri CLI's file names.
ARCH_SPELLINGS = {"x86_64": ("x86_64", "amd64", "x64"), "aarch64": ("aarch64", "arm64")}


class Unreadable(Exception):
    """Input that cannot be checked at all (exit status 2)."""


def load_json(path: str, what: str) -> dict:
    try:
        value = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise Unreadable(f"{what} {path}: {e}") from e
    if not isinstance(value, dict):
        raise Unreadable(f"{what} {path}: not a JSON object")
    return value


def basename(url: str) -> str:
    return url.rsplit("/", 1)[-1]


def b64(text: str) -> bytes:
    return base64.b64decode(text.strip(), validate=True)


def key_id(line: str, size: int) -> bytes:
    """The key id of a minisign signature or public-key line (algorithm, id, payload)."""
    raw = b64(line)
    if len(raw) != size:
        raise ValueError(f"{len(raw)} bytes, not {size}")
    return raw[2:10]


def parse_signature(text: str, file_name: str) -> tuple[bytes | None, list[str]]:
    """The signing key's id, and what is wrong with a `.sig` text for `file_name`."""
    try:
        lines = b64(text).decode("utf-8").splitlines()
    except (binascii.Error, ValueError) as e:
        return None, [f"the signature is not base64 of a minisign signature ({e})"]
    if len(lines) < 4 or not lines[0].startswith("untrusted comment:"):
        return None, ["the signature is not a minisign signature"]
    problems = []
    try:
        ident = key_id(lines[1], 74)
        key_id(lines[3], 64)
    except (binascii.Error, ValueError) as e:
        return None, [f"the signature's lines are malformed ({e})"]
    trusted = lines[2].removeprefix("trusted comment:").strip()
    fields = dict(f.split(":", 1) for f in trusted.split("\t") if ":" in f)
    if fields.get("file") != file_name:
        problems.append(
            f"the signature was made for {fields.get('file')!r}, not for {file_name}"
        )
    return ident, problems


def pubkey_id(pubkey: str) -> bytes:
    """The key id of `plugins.updater.pubkey` (base64 of a minisign public key file)."""
    try:
        lines = b64(pubkey).decode("utf-8").splitlines()
        return key_id(lines[1], 42)
    except (binascii.Error, ValueError, IndexError) as e:
        raise Unreadable(f"the public key is not a minisign public key ({e})") from e


def candidates(key: str, assets: list[str]) -> list[str]:
    """Release assets that could serve the installer-specific `key`: its kind and architecture
    (Tauri names even macOS archives after it: Tessera_aarch64.app.tar.gz)."""
    arch = key.split("-")[1]
    spellings = ARCH_SPELLINGS.get(arch, (arch,))
    return [
        name
        for name in assets
        if name.endswith(KINDS[key]) and any(s in name for s in spellings)
    ]


def complete(feed: dict, release: dict, sigs: Path, tag: str | None, keys) -> list[str]:
    """Adds the missing `keys` from the release's assets; returns what could not be added."""
    platforms = feed.setdefault("platforms", {})
    assets = {a["name"]: a for a in release.get("assets", [])}
    problems = []
    for key in keys:
        if key in platforms:
            continue
        found = [n for n in candidates(key, sorted(assets)) if (sigs / f"{n}.sig").is_file()]
        if len(found) != 1:
            problems.append(
                f"{key}: no entry, and {len(found)} signed assets could be one: {found}"
            )
            continue
        name = found[0]
        url = assets[name].get("browser_download_url", "")
        if tag:
            head, _, _ = url.rpartition("/download/")
            url = f"{head}/download/{tag}/{name}"
        platforms[key] = {
            "signature": (sigs / f"{name}.sig").read_text(encoding="utf-8").strip(),
            "url": url,
        }
    return problems


def verify(feed: dict, args, release: dict | None) -> tuple[list[str], list[list[str]]]:
    """Problems, and the summary rows (key, file, signed for)."""
    problems, rows = [], []
    version = str(feed.get("version", ""))
    if args.version and version.removeprefix("v") != args.version.removeprefix("v"):
        problems.append(f"the feed says version {version!r}, expected {args.version}")
    platforms = feed.get("platforms")
    if not isinstance(platforms, dict):
        return problems + ["the feed has no platforms object"], rows
    assets = {a.get("name") for a in release.get("assets", [])} if release else None
    expected_id = pubkey_id(args.pubkey) if args.pubkey else None
    ids = {}
    for key in args.require:
        entry = platforms.get(key)
        if not isinstance(entry, dict):
            problems.append(f"{key}: no entry (its build job failed or wrote no signature)")
            continue
        url, sig = entry.get("url"), entry.get("signature")
        if not isinstance(url, str) or not url or not isinstance(sig, str) or not sig.strip():
            problems.append(f"{key}: the entry needs a url and a signature")
            continue
        name = basename(url)
        rows.append([key, name])
        kinds = KINDS.get(key, ())
        if kinds and not name.endswith(kinds):
            problems.append(f"{key}: {name} is not a {' or '.join(kinds)} file")
        if args.tag and f"/releases/download/{args.tag}/" not in url:
            problems.append(f"{key}: {url} is not under /releases/download/{args.tag}/")
        if assets is not None:
            if name not in assets:
                problems.append(f"{key}: {name} is not an asset of the release")
            if f"{name}.sig" not in assets:
                problems.append(f"{key}: the release has no {name}.sig")
        if args.sigs:
            sig_file = Path(args.sigs) / f"{name}.sig"
            if not sig_file.is_file():
                problems.append(f"{key}: {name}.sig was not downloaded")
            elif sig_file.read_text(encoding="utf-8").strip() != sig.strip():
                problems.append(f"{key}: the feed's signature is not the one in {name}.sig")
        ident, sig_problems = parse_signature(sig, name)
        problems += [f"{key}: {p}" for p in sig_problems]
        if ident is not None:
            ids.setdefault(ident, []).append(key)
            if expected_id is not None and ident != expected_id:
                problems.append(f"{key}: signed by key {ident.hex()}, the app trusts {expected_id.hex()}")
    if len(ids) > 1:
        problems.append(
            "the entries are signed by different keys: "
            + "; ".join(f"{i.hex()}: {', '.join(k)}" for i, k in ids.items())
        )
    return problems, rows


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("feed", help="latest.json")
    parser.add_argument("--version", help="the version the feed must announce")
    parser.add_argument("--tag", help="URLs must be under /releases/download/<tag>/")
    parser.add_argument("--release", help="the GitHub API's JSON of the release")
    parser.add_argument("--sigs", help="a folder holding the release's downloaded .sig assets")
    parser.add_argument("--pubkey", help="plugins.updater.pubkey, or @tauri.conf.json")
    parser.add_argument("--require", nargs="+", default=list(REQUIRED), metavar="KEY")
    parser.add_argument("--complete", metavar="OUT", help="add missing entries, write OUT")
    parser.add_argument("--summary", help="append a Markdown table of the entries here")
    args = parser.parse_args(argv)
    try:
        if args.pubkey and args.pubkey.startswith("@"):
            config = load_json(args.pubkey[1:], "the Tauri configuration")
            args.pubkey = config.get("plugins", {}).get("updater", {}).get("pubkey", "")
        feed = load_json(args.feed, "the feed")
        release = load_json(args.release, "the release") if args.release else None
        problems = []
        if args.complete:
            if release is None or not args.sigs:
                raise Unreadable("--complete needs --release and --sigs")
            problems += complete(feed, release, Path(args.sigs), args.tag, args.require)
            Path(args.complete).write_text(json.dumps(feed, indent=2) + "\n", encoding="utf-8")
        more, rows = verify(feed, args, release)
        problems += more
    except Unreadable as e:
        print(f"::error::{e}", file=sys.stderr)
        return 2
    if args.summary:
        lines = ["| feed entry | file |", "|---|---|"] + [f"| {k} | {n} |" for k, n in rows]
        with open(args.summary, "a", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
    for p in problems:
        print(f"::error::{p}")
    if problems:
        return 1
    print(f"{len(rows)} feed entries, each a signed file of its installer's kind.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
