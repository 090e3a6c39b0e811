"""Secrets: where they may come from, and what is refused.

A secret comes from the environment, or, in ``dev`` mode only, from a key file under the
restricted home that is created once with mode 0600 (and refused if anyone else can read it).
A value that is obviously a placeholder (``changeme``, the ``.env.example`` texts ...) is refused
in every mode: a placeholder that "works" in dev is how placeholders reach production.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
from collections.abc import Iterable
from pathlib import Path

__all__ = [
    "DEV_SECRET_NAMES",
    "PLACEHOLDER_SECRETS",
    "ConfigError",
    "decode_hex_secret",
    "dev_secrets",
    "is_placeholder",
]

#: Values refused as secrets (compared stripped and case-folded), plus anything starting with
#: ``replace-with`` or ``<`` (``.env.example`` and documentation placeholders).
PLACEHOLDER_SECRETS = frozenset(
    {
        "",
        "changeme",
        "change-me",
        "change_me",
        "changethis",
        "change-this",
        "secret",
        "placeholder",
        "xxx",
        "todo",
        "replace-me",
        "none",
        "null",
    }
)
#: The secrets a dev key file holds (each 32 random bytes as hex).
DEV_SECRET_NAMES = ("token_key", "vault_key", "release_key", "api_key_pepper")
MIN_SECRET_BYTES = 32


class ConfigError(ValueError):
    """Settings that cannot be used; the message names the variable to set."""


def is_placeholder(value: str) -> bool:
    text = value.strip().casefold()
    return text in PLACEHOLDER_SECRETS or text.startswith(("replace-with", "<"))


def env_name(name: str) -> str:
    """The environment variable of a secret: ``api_key_pepper`` -> ``MERAJUT_API_KEY_PEPPER``."""
    return f"MERAJUT_{name.upper()}"


def decode_hex_secret(name: str, value: str) -> bytes:
    """A secret given as hex, at least 32 bytes; the error names the variable."""
    variable = env_name(name)
    if is_placeholder(value):
        raise ConfigError(
            f"{variable} is a placeholder; set {2 * MIN_SECRET_BYTES} random hex characters"
        )
    try:
        raw = bytes.fromhex(value.strip())
    except ValueError:
        raise ConfigError(
            f"{variable} must be hex ({2 * MIN_SECRET_BYTES} hex characters)"
        ) from None
    if len(raw) < MIN_SECRET_BYTES:
        raise ConfigError(
            f"{variable} must be at least {MIN_SECRET_BYTES} bytes ({2 * MIN_SECRET_BYTES} hex characters)"
        )
    return raw


def _read_private(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise ConfigError(f"{path} is readable by others (mode {mode:o}); chmod 600 it")
    data: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
    return data


def dev_secrets(path: Path, names: Iterable[str] = DEV_SECRET_NAMES) -> dict[str, str]:
    """Read, or create with mode 0600, the dev key file; secrets it lacks are added once.

    Creation happens under an exclusive lock, so two processes starting at once (the CLI and
    a Dagster run, two test workers) agree on one set of keys instead of each keeping its own.
    """
    wanted = list(names)
    data = _read_private(path)
    if all(n in data for n in wanted):
        return data
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        data = _read_private(path)
        missing = [n for n in wanted if n not in data]
        for name in missing:
            data[name] = secrets.token_hex(MIN_SECRET_BYTES)
        if missing:
            tmp = path.with_name(f".{path.name}.{os.getpid()}")
            tmp_fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(tmp_fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh)
            os.replace(tmp, path)
            os.chmod(path, 0o600)
    finally:
        os.close(fd)  # releases the lock
    return data
