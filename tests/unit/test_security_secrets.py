"""Secrets are provisioned in production and generated once, atomically, in the embedded default; keys
carry ids so data made with a retired key stays readable."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from datafactory.secrets import (
    EXIT_CONFIG,
    Key,
    SecretError,
    check_environment,
    create_once,
    is_production,
    load_ring,
    rotate,
)
from datafactory.sources.pseudonymize import (
    decrypt_bytes,
    decrypt_value,
    encrypt_bytes,
    encrypt_value,
    pseudonym,
    pseudonym_key_id,
    pseudonymize_column,
    pseudonyms_under_every_key,
    token_key_id,
)

pytestmark = pytest.mark.unit

PRODUCTION = {"DATAFACTORY_ENV": "production"}
GOOD = {
    "DATAFACTORY_PSEUDONYM_KEY": "9f" * 32,
    "DATAFACTORY_SM4_KEY": "0123456789abcdef0123456789abcdef",
    "AIRFLOW__CORE__FERNET_KEY": "rPZ0qAEgqMSuH8e2i9c1K0jOeRk1a7V4Zb2iP8S2m6o=",
}


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith(("DATAFACTORY_", "MLFLOW_TRACKING_URI")):
            monkeypatch.delenv(name)
    return monkeypatch


# --- production: provisioned, never generated


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, False),
        ({"DATAFACTORY_ENV": "production"}, True),
        ({"DATAFACTORY_ENV": "embedded", "DATAFACTORY_STORE_URL": "s3://b/p"}, False),
        ({"DATAFACTORY_STATE_URL": "postgresql+psycopg2://u@h/db"}, True),
        ({"DATAFACTORY_STATE_URL": "sqlite:////tmp/state.db"}, False),
        ({"DATAFACTORY_STORE_URL": "s3://bucket/products"}, True),
        ({"MLFLOW_TRACKING_URI": "http://mlflow:5000"}, True),
    ],
)
def test_production_is_any_non_embedded_configuration(env, expected):
    assert is_production(env) is expected


@pytest.mark.parametrize(
    ("name", "value", "phrase"),
    [
        ("DATAFACTORY_PSEUDONYM_KEY", "change-me-pseudonym-key", "DATAFACTORY_PSEUDONYM_KEY is a placeholder"),
        ("DATAFACTORY_PSEUDONYM_KEY", "", "DATAFACTORY_PSEUDONYM_KEY is empty"),
        ("DATAFACTORY_PSEUDONYM_KEY", "short-but-real", "DATAFACTORY_PSEUDONYM_KEY is too short"),
        ("AIRFLOW__CORE__FERNET_KEY", "", "AIRFLOW__CORE__FERNET_KEY is empty"),
        ("AIRFLOW__CORE__FERNET_KEY", "not-a-fernet-key", "AIRFLOW__CORE__FERNET_KEY is not a Fernet key"),
        ("DATAFACTORY_SM4_KEY", "abc", "DATAFACTORY_SM4_KEY must be 32 hex digits"),
        ("AWS_SECRET_ACCESS_KEY", "minioadmin", "AWS_SECRET_ACCESS_KEY is a placeholder"),
        ("MLFLOW_TRACKING_PASSWORD", "", "MLFLOW_TRACKING_PASSWORD is empty"),
        (
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
            "postgresql+psycopg2://datafactory:change-me-postgres@postgres:5432/airflow",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN embeds a placeholder secret",
        ),
    ],
)
def test_the_start_check_names_the_variable_of_each_bad_secret(name, value, phrase):
    issues = check_environment({**GOOD, name: value})
    assert len(issues) == 1 and issues[0].startswith(phrase), issues
    assert "\n" not in issues[0]


def test_good_secrets_and_non_secrets_pass_the_start_check():
    assert check_environment({**GOOD, "DATAFACTORY_API_KEY": "datafactory", "AWS_ACCESS_KEY_ID": "airflow"}) == []


def test_production_never_generates_a_key(tmp_path: Path, clean_env: pytest.MonkeyPatch):
    clean_env.setenv("DATAFACTORY_ENV", "production")
    for kind in ("pseudonym", "sm4"):
        with pytest.raises(SecretError, match=f"DATAFACTORY_{kind.upper()}_KEY is empty"):
            load_ring(kind, tmp_path)
    from datafactory.settings import _install_secret

    with pytest.raises(SecretError, match="DATAFACTORY_SERVING_SECRET is empty: production never generates"):
        _install_secret(tmp_path / "secrets" / "serving.secret")
    assert not (tmp_path / "secrets").exists()
    with pytest.raises(SecretError, match="provisioned, not generated"):
        rotate("sm4", tmp_path)


def test_production_refuses_a_placeholder_key_in_process(tmp_path: Path, clean_env: pytest.MonkeyPatch):
    clean_env.setenv("DATAFACTORY_STORE_URL", "s3://products/p")
    clean_env.setenv("DATAFACTORY_PSEUDONYM_KEY", "change-me-pseudonym-key")
    from datafactory.settings import load_settings

    with pytest.raises(SecretError, match="DATAFACTORY_PSEUDONYM_KEY is a placeholder"):
        load_settings().pseudonym_key()


def test_the_guard_refuses_to_start_a_production_service_with_a_placeholder(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATAFACTORY_", "AIRFLOW__"))}
    env |= PRODUCTION | GOOD | {"DATAFACTORY_SERVING_SECRET": "change-me-serving-secret"}
    command = [sys.executable, "-m", "datafactory.secrets", "--", sys.executable, "-c", "print('started')"]
    refused = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode == EXIT_CONFIG
    assert refused.stdout == ""
    assert refused.stderr.strip().splitlines() == [
        "error: refusing to start "
        f"{sys.executable}: DATAFACTORY_SERVING_SECRET is a placeholder (change-me-se...): provision a real "
        "secret (see .env.example)"
    ]
    env["DATAFACTORY_SERVING_SECRET"] = "a3" * 32
    started = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert (started.returncode, started.stdout) == (0, "started\n")


def test_the_embedded_default_guard_starts_without_any_secret():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATAFACTORY_", "AIRFLOW__", "MLFLOW_"))}
    command = [sys.executable, "-m", "datafactory.secrets", sys.executable, "-c", "print('started')"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout) == (0, "started\n")


# --- embedded default: generated once, atomically


def test_an_embedded_key_is_created_once_owner_only_and_read_back(tmp_path: Path, clean_env):
    first = load_ring("pseudonym", tmp_path).key()
    again = load_ring("pseudonym", tmp_path).key()
    assert first == again and len(first) == 64 and first.kid == "1"
    path = tmp_path / "secrets" / "pseudonym.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["pseudonym.key"]  # no temporary file left


def test_an_empty_key_file_is_refused_not_used(tmp_path: Path):
    path = tmp_path / "secrets" / "pseudonym.key"
    path.parent.mkdir(parents=True)
    path.write_text("")
    with pytest.raises(SecretError, match="is empty"):
        create_once(path, lambda: b"fresh")


CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from datafactory.secrets import load_ring
    home, start = Path(sys.argv[1]), float(sys.argv[2])
    while time.time() < start:  # every process leaves the barrier at once
        pass
    print(load_ring("pseudonym", home).key().decode(), load_ring("sm4", home).key().hex(), sep=",")
    """
)


def test_many_processes_starting_together_all_get_one_identical_non_empty_key(tmp_path: Path):
    import time

    env = {k: v for k, v in os.environ.items() if not k.startswith("DATAFACTORY_")}
    outputs = []
    for trial in range(6):
        home = tmp_path / f"trial-{trial}"
        start = time.time() + 1.5
        children = [
            subprocess.Popen(
                [sys.executable, "-c", CHILD, str(home), str(start)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(8)
        ]
        results = [c.communicate(timeout=120) for c in children]
        assert all(c.returncode == 0 for c in children), [err for _, err in results]
        keys = {out.strip() for out, _ in results}
        assert len(keys) == 1, keys
        pseudonym_key, sm4_key = keys.pop().split(",")
        assert len(pseudonym_key) == 64 and len(sm4_key) == 32
        assert (home / "secrets" / "pseudonym.key").read_text() == pseudonym_key
        outputs.append(pseudonym_key)
    assert len(set(outputs)) == len(outputs)  # each install has its own key


# --- key ids and rotation


def test_pseudonyms_carry_their_key_id_and_key_one_keeps_the_old_form():
    one, two = Key(b"k" * 32, "1"), Key(b"j" * 32, "2", {"1": b"k" * 32})
    assert pseudonym("110101199003074514", b"k" * 32) == pseudonym("110101199003074514", one)
    assert pseudonym("x", one).startswith("p_") and pseudonym_key_id(pseudonym("x", one)) == "1"
    assert pseudonym("x", two).startswith("p2_") and pseudonym_key_id(pseudonym("x", two)) == "2"
    column = pseudonymize_column(pd.Series(["x", None, "x"]), two)
    assert column.tolist() == [pseudonym("x", two), None, pseudonym("x", two)]
    both = pseudonyms_under_every_key("x", two)
    assert both == {"1": pseudonym("x", one), "2": pseudonym("x", two)}


def test_sm4_tokens_and_files_made_with_a_retired_key_stay_readable():
    old = Key(bytes(range(16)), "1")
    new = Key(bytes(range(16, 32)), "2", {"1": bytes(old)})
    token, blob = encrypt_value("13800138000", old, b"phone"), encrypt_bytes(b"raw file", old, b"f.csv")
    assert token_key_id(token) == "1" and token_key_id(encrypt_value("v", new)) == "2"
    assert decrypt_value(token, new, b"phone") == "13800138000"
    assert decrypt_bytes(blob, new, b"f.csv") == b"raw file"
    assert decrypt_bytes(encrypt_bytes(b"new", new, b"g"), new, b"g") == b"new"
    with pytest.raises(SecretError, match="key id 2, which this key ring does not hold"):
        decrypt_value(encrypt_value("v", new), old)


def test_tokens_from_before_key_ids_are_read_as_key_one():
    import base64

    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    key, nonce = bytes(range(16)), bytes(12)
    enc = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    enc.authenticate_additional_data(b"c")
    body = enc.update(b"legacy") + enc.finalize()
    legacy = "sm4gcm:" + base64.urlsafe_b64encode(nonce + body + enc.tag).decode()
    assert decrypt_value(legacy, Key(bytes(16), "2", {"1": key}), b"c") == "legacy"
    assert decrypt_bytes(nonce + body + enc.tag, key, b"c") == b"legacy"


def test_rotate_starts_a_new_key_and_keeps_every_retired_one(tmp_path: Path, clean_env):
    before = load_ring("sm4", tmp_path).key()
    token = encrypt_value("secret", before, b"c")
    assert rotate("sm4", tmp_path) == 2
    after = load_ring("sm4", tmp_path).key()
    assert after.kid == "2" and bytes(after) != bytes(before) and set(after.ring) == {"1", "2"}
    assert decrypt_value(token, after, b"c") == "secret"
    assert rotate("sm4", tmp_path) == 3
    assert rotate("pseudonym", tmp_path) == 2  # rings are independent


def test_production_rings_read_the_current_and_retired_keys_from_the_environment(tmp_path: Path, clean_env):
    old, new = "00112233445566778899aabbccddeeff", "ffeeddccbbaa99887766554433221100"
    env = PRODUCTION | {
        "DATAFACTORY_SM4_KEY": new,
        "DATAFACTORY_SM4_KEY_ID": "2",
        "DATAFACTORY_SM4_RETIRED_KEYS": f"1:{old}",
    }
    ring = load_ring("sm4", tmp_path, env)
    assert ring.current == "2" and ring.keys == {"2": bytes.fromhex(new), "1": bytes.fromhex(old)}
    token = encrypt_value("v", Key(bytes.fromhex(old), "1"))
    assert decrypt_value(token, ring.key()) == "v"
    with pytest.raises(SecretError, match="write each retired key as id:key"):
        load_ring("sm4", tmp_path, env | {"DATAFACTORY_SM4_RETIRED_KEYS": old})


def test_keys_cli_rotates_and_lists_ids_never_keys(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATAFACTORY_")}
    env["DATAFACTORY_HOME"] = str(tmp_path / "var")
    cli = [str(Path(sys.executable).parent / "datafactory")]
    rotated = subprocess.run([*cli, "keys", "rotate", "pseudonym"], env=env, capture_output=True, text=True)
    assert rotated.returncode == 0, rotated.stderr
    assert "pseudonym: key id 2 is current" in rotated.stdout and "p2_" in rotated.stdout
    listed = subprocess.run([*cli, "keys", "list"], env=env, capture_output=True, text=True)
    assert "pseudonym: current key id 2; retired ids held: 1" in listed.stdout
    assert "sm4: current key id 1; retired ids held: none" in listed.stdout
    for path in (tmp_path / "var" / "secrets").iterdir():
        assert path.read_text().strip() not in listed.stdout + rotated.stdout
    production = subprocess.run([*cli, "keys", "rotate", "sm4"], env=env | PRODUCTION, capture_output=True, text=True)
    assert production.returncode == 1
    assert "production keys are provisioned, not generated" in production.stderr
