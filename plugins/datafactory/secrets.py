"""Secrets: provisioned in production, generated once (atomically) in the embedded default.

- Production is any non-embedded configuration: `DATAFACTORY_ENV=production`, or (when DATAFACTORY_ENV
  is unset) a state database that is not SQLite, an `s3://` product store or an `http(s)://` MLflow
  server. There every secret comes from the environment; an empty one or a placeholder
  (`change-me-...`) stops the process with one line naming the variable. Nothing is ever generated.
- The embedded default (one machine, no services) generates each key once under `var/secrets/`:
  exclusive create of a private temporary file, write, fsync, then an exclusive publish (a hard link
  never replaces an existing name), then fsync of the folder. Any number of processes starting
  together end up reading one identical, complete, non-empty key.

Keys carry a key id, so data made with an older key stays readable after a rotation (`datafactory
keys rotate`). A ring holds the current key and every retired one:

- production: `DATAFACTORY_<KIND>_KEY` (current), `DATAFACTORY_<KIND>_KEY_ID` (its id, default 1),
  `DATAFACTORY_<KIND>_RETIRED_KEYS` (`id:key,id:key`, optional);
- embedded: `var/secrets/<kind>.key` is key 1 (the file earlier versions wrote), `<kind>.<id>.key`
  the later ones; the highest id is current.

`python -m datafactory.secrets COMMAND...` is the guard every compose service starts through: it
checks the environment it was given and only then executes the service's own command.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets as _random
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

EXIT_CONFIG = 78  # EX_CONFIG from sysexits.h: configuration error

# Values that are never a real secret: the .env.example placeholders and well-known defaults.
_PLACEHOLDER = re.compile(
    r"change[-_ ]?me|placeholder|^<.*>$|^(x+|\*+|secret|password|admin|minioadmin|airflow)$", re.I
)
# Variables holding a secret (checked by the start guard): passwords, secrets, keys (not key ids).
_SECRET_NAME = re.compile(r"(PASSWORD|SECRET|SECRET_KEY|SECRET_ACCESS_KEY|FERNET_KEY|_KEY)$")
_OURS = ("AIRFLOW", "DATAFACTORY_", "MLFLOW_", "AWS_", "POSTGRES_", "MINIO_", "PGPASSWORD")
_NOT_SECRET = frozenset({"DATAFACTORY_API_KEY"})  # the platform's app key is an identifier, not a secret
_MIN_LENGTH = {"DATAFACTORY_PSEUDONYM_KEY": 32}  # short HMAC keys make pseudonyms guessable
_HEX_KEY = re.compile(r"^[0-9a-fA-F]{32}$")

# Secret files of the embedded default and the variable that provisions each in production.
FILE_VARIABLES = {
    "pseudonym": "DATAFACTORY_PSEUDONYM_KEY",
    "sm4": "DATAFACTORY_SM4_KEY",
    "api.secret": "DATAFACTORY_API_SECRET",
    "serving.secret": "DATAFACTORY_SERVING_SECRET",
}
KINDS = {"pseudonym": 32, "sm4": 16}  # key kinds with rings, and their random size in bytes


class SecretError(RuntimeError):
    """A secret is missing, a placeholder or malformed; the message is one line naming the variable."""


def is_production(env: Mapping[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    explicit = (env.get("DATAFACTORY_ENV") or "").strip().lower()
    if explicit:
        return explicit in {"production", "prod"}
    state = env.get("DATAFACTORY_STATE_URL") or ""
    return bool(
        (state and not state.startswith("sqlite"))
        or (env.get("DATAFACTORY_STORE_URL") or "").startswith("s3://")
        or (env.get("MLFLOW_TRACKING_URI") or "").startswith(("http://", "https://"))
    )


def problem(name: str, value: str | None, *, strict: bool = False) -> str | None:
    """What is wrong with a secret's value, or None when it may be used. `strict` (the start guard of a
    deployed service) also refuses keys shorter than their minimum length."""
    if value is None or not value.strip():
        return f"{name} is empty: provision a secret for it (see .env.example)"
    if _PLACEHOLDER.search(value.strip()):
        return f"{name} is a placeholder ({value.strip()[:12]}...): provision a real secret (see .env.example)"
    if strict and len(value) < _MIN_LENGTH.get(name, 0):
        return f"{name} is too short ({len(value)} characters, needs {_MIN_LENGTH[name]}): generate a random one"
    if name.endswith("FERNET_KEY"):
        from cryptography.fernet import Fernet

        try:
            Fernet(value.encode())
        except ValueError:
            return f"{name} is not a Fernet key (32 url-safe base64 bytes): generate one with Fernet.generate_key()"
    if name == "DATAFACTORY_SM4_KEY" and not _HEX_KEY.match(value):
        return f"{name} must be 32 hex digits (a 128-bit SM4 key)"
    return None


def check_environment(env: Mapping[str, str] | None = None) -> list[str]:
    """Problems with the secrets a production process was given (empty when it may start).

    Every variable named like a secret must be set to a real value; any other value that embeds a
    placeholder (a database URL with `change-me-postgres` as its password) is refused too."""
    env = os.environ if env is None else env
    found = []
    for name in sorted(env):
        value = env[name]
        if name in _NOT_SECRET or name.endswith("_RETIRED_KEYS"):
            continue
        if _SECRET_NAME.search(name) and name.startswith(_OURS):
            issue = problem(name, value, strict=True)
        elif re.search(r"change[-_]?me", value, re.I):
            issue = f"{name} embeds a placeholder secret: provision the real one (see .env.example)"
        else:
            issue = None
        if issue:
            found.append(issue)
    return found


def provisioned(name: str, env: Mapping[str, str] | None = None) -> str:
    """A secret that must come from the environment (production): its value, or SecretError."""
    env = os.environ if env is None else env
    issue = problem(name, env.get(name))
    if issue:
        raise SecretError(issue)
    return env[name]


# --- atomic creation (embedded default)


def create_once(path: Path, make) -> bytes:
    """The content of `path`, created by the first caller only: exclusive create of a private temporary
    file, write, fsync, exclusive publish under the final name, fsync of the folder. Every caller
    (threads or processes) returns the same complete content."""
    with contextlib.suppress(FileNotFoundError):
        return _read_complete(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)  # O_EXCL, 0600
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(make())
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(FileExistsError):  # another process published first: read theirs
            os.link(tmp, path)  # never replaces: the first complete file wins
        _fsync_dir(path.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return _read_complete(path)


def _read_complete(path: Path) -> bytes:
    data = path.read_bytes()
    if not data.strip():
        raise SecretError(f"{path} is empty (left by an older, racy version): delete it to generate a new key")
    return data


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def install_secret(path: Path, nbytes: int = 32) -> str:
    """A random hex secret of the embedded default, created once; production refuses to generate one."""
    if is_production():
        variable = FILE_VARIABLES.get(path.name, path.name)
        raise SecretError(f"{variable} is empty: production never generates a secret, provision it (see .env.example)")
    return create_once(path, lambda: _random.token_hex(nbytes).encode()).decode().strip()


# --- key rings


class Key(bytes):
    """Key material that knows its id and its ring (every key id still held, for reading old data)."""

    kid: str
    ring: dict[str, bytes]

    def __new__(cls, value: bytes, kid: str = "1", ring: Mapping[str, bytes] | None = None) -> Key:
        key = super().__new__(cls, value)
        key.kid = str(kid)
        key.ring = dict(ring or {})
        key.ring.setdefault(key.kid, bytes(value))
        return key

    def __reduce__(self):
        return (Key, (bytes(self), self.kid, self.ring))


def key_id(key: bytes) -> str:
    return getattr(key, "kid", "1")


def key_for(key: bytes, kid: str) -> bytes:
    """The key of id `kid` in the ring `key` belongs to (a plain bytes key is key 1 of a ring of one)."""
    if kid == key_id(key):
        return key
    ring = getattr(key, "ring", {})
    if kid not in ring:
        raise SecretError(f"data was made with key id {kid}, which this key ring does not hold: add the retired key")
    return ring[kid]


@dataclass(frozen=True)
class Ring:
    kind: str
    current: str
    keys: dict[str, bytes]

    def key(self) -> Key:
        return Key(self.keys[self.current], self.current, self.keys)


def _decode(kind: str, text: str) -> bytes:
    return bytes.fromhex(text.strip()) if kind == "sm4" else text.strip().encode()


def _key_file(home: Path, kind: str, kid: int) -> Path:
    return home / "secrets" / (f"{kind}.key" if kid == 1 else f"{kind}.{kid}.key")


def embedded_ids(home: Path, kind: str) -> list[int]:
    folder = home / "secrets"
    ids = [1] if (folder / f"{kind}.key").exists() else []
    pattern = re.compile(rf"^{re.escape(kind)}\.(\d+)\.key$")
    if folder.is_dir():
        ids += [int(m.group(1)) for p in folder.iterdir() if (m := pattern.match(p.name))]
    return sorted(set(ids))


def load_ring(kind: str, home: Path, env: Mapping[str, str] | None = None) -> Ring:
    """The ring of `kind` (pseudonym or sm4): from the environment in production (or whenever the
    current key is set there), else from var/secrets (key 1 generated on first use)."""
    env = os.environ if env is None else env
    variable = f"DATAFACTORY_{kind.upper()}_KEY"
    if env.get(variable) or is_production(env):
        current = (env.get(f"{variable}_ID") or "1").strip()
        keys = {current: _checked(kind, variable, provisioned(variable, env) if is_production(env) else env[variable])}
        retired = env.get(f"DATAFACTORY_{kind.upper()}_RETIRED_KEYS") or ""
        for item in filter(None, (s.strip() for s in retired.split(","))):
            kid, sep, text = item.partition(":")
            if not sep or not kid.strip().isdigit():
                raise SecretError(f"DATAFACTORY_{kind.upper()}_RETIRED_KEYS: write each retired key as id:key")
            keys.setdefault(kid.strip(), _checked(kind, f"DATAFACTORY_{kind.upper()}_RETIRED_KEYS", text))
        return Ring(kind, current, keys)
    ids = embedded_ids(home, kind) or [1]
    keys = {str(i): _checked(kind, str(_key_file(home, kind, i)), _embedded_key(home, kind, i)) for i in ids}
    return Ring(kind, str(max(ids)), keys)


def _embedded_key(home: Path, kind: str, kid: int) -> str:
    return create_once(_key_file(home, kind, kid), lambda: _random.token_hex(KINDS[kind]).encode()).decode()


def _checked(kind: str, where: str, text: str) -> bytes:
    try:
        key = _decode(kind, text)
    except ValueError:
        key = b""
    if not key or (kind == "sm4" and len(key) != 16):
        raise SecretError(
            f"{where} must be 32 hex digits (a 128-bit SM4 key)" if kind == "sm4" else f"{where} is empty"
        )
    return key


def rotate(kind: str, home: Path) -> int:
    """Starts a new key of `kind` in the embedded ring and returns its id (production: refused)."""
    if kind not in KINDS:
        raise SecretError(f"unknown key kind {kind!r}: choose one of {', '.join(KINDS)}")
    if is_production():
        name = f"DATAFACTORY_{kind.upper()}"
        raise SecretError(
            f"production keys are provisioned, not generated: move {name}_KEY to {name}_RETIRED_KEYS as "
            f"'<id>:<key>', then set a new {name}_KEY and {name}_KEY_ID on every service"
        )
    ids = embedded_ids(home, kind) or [1]
    _embedded_key(home, kind, ids[-1])  # key 1 exists before key 2
    while True:
        kid = max(embedded_ids(home, kind)) + 1
        path = _key_file(home, kind, kid)
        before = path.exists()
        _embedded_key(home, kind, kid)
        if not before:
            return kid


# --- the start guard of every compose service


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        print("usage: python -m datafactory.secrets COMMAND [ARG...]", file=sys.stderr)
        return 2
    if is_production():
        issues = check_environment()
        if issues:
            print(f"error: refusing to start {argv[0]}: {issues[0]}", file=sys.stderr)
            return EXIT_CONFIG
    os.execvp(argv[0], argv)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
