import pandas as pd
import pytest
import yaml

from datafactory.sources.protect import pii_rules, protect
from datafactory.sources.pseudonymize import decrypt_bytes, decrypt_value, encrypt_bytes, encrypt_value, pseudonym
from datafactory.specs import SourceSpec, SpecError, load_source

pytestmark = pytest.mark.unit
KEY = b"test-pseudonym-key"
SM4 = bytes(range(16))


def _spec(pii) -> SourceSpec:
    columns = {"application_id": "string", "updated_at": "timestamp", **dict.fromkeys(pii, "string")}
    return SourceSpec(
        name="uw",
        channel="api",
        table="uw",
        keys=["application_id"],
        watermark_column="updated_at",
        columns=columns,
        pii=pii,
    )


def test_policy_pseudonymizes_encrypts_and_validates():
    frame = pd.DataFrame(
        {
            "application_id": ["A1", "A2", "A3"],
            "person_id": ["360426199101010071", "360426199101010072", None],
            "applicant_phone": ["13812345678", "12812345678", "13812345678"],
        }
    )
    rules = pii_rules(
        _spec(
            {
                "person_id": {"action": "pseudonymize_and_encrypt", "validate": "resident_id"},
                "applicant_phone": {"action": "encrypt", "validate": "mobile"},
            }
        )
    )
    out = protect(frame, rules, KEY, SM4)
    assert out["person_id"].tolist()[:2] == [pseudonym("360426199101010071", KEY), pseudonym("360426199101010072", KEY)]
    assert out["person_id"].isna().tolist() == [False, False, True]  # nulls stay null
    assert out["person_id_valid"].tolist()[:2] == [1, 0] and pd.isna(out["person_id_valid"][2])
    assert decrypt_value(out["person_id_sm4"][0], SM4, b"person_id") == "360426199101010071"
    assert out["applicant_phone_valid"].tolist() == [1, 0, 1]
    tokens = out["applicant_phone"].tolist()
    assert tokens[0] != tokens[2]  # fresh nonce: equal phones do not give equal tokens
    assert decrypt_value(tokens[2], SM4, b"applicant_phone") == "13812345678"
    flat = out.astype(str).to_numpy().ravel().tolist()
    assert not any("360426199101010071" in v or "13812345678" in v for v in flat)


def test_ciphertext_is_bound_to_its_key_and_column():
    token = encrypt_value("330281199001010012", SM4, b"person_id")
    with pytest.raises(ValueError, match="authentication"):
        decrypt_value(token, SM4, b"other_column")
    with pytest.raises(ValueError, match="authentication"):
        decrypt_value(token, bytes(16), b"person_id")
    blob = encrypt_bytes(b"a,b\n1,2\n", SM4, b"file.csv")
    assert decrypt_bytes(blob, SM4, b"file.csv") == b"a,b\n1,2\n"


def test_encrypting_without_a_key_fails_loudly():
    rules = pii_rules(_spec({"person_id": "encrypt"}))
    with pytest.raises(ValueError, match="no SM4 key"):
        protect(pd.DataFrame({"person_id": ["x"]}), rules, KEY, None)


@pytest.mark.parametrize(
    "pii,message",
    [
        ({"person_id": "hash"}, "pii.person_id.action: Input should be 'pseudonymize'"),
        ({"person_id": {"action": "encrypt", "validate": "passport"}}, "pii.person_id.validate: Input should be"),
        ({"application_id": "pseudonymize"}, "keys and the watermark cannot be personal"),
    ],
)
def test_bad_policies_name_the_spec_file(tmp_path, pii, message):
    path = tmp_path / "uw.yaml"
    columns = {"application_id": "string", "person_id": "string", "updated_at": "timestamp"}
    spec = {"name": "uw", "channel": "api", "table": "uw", "keys": ["application_id"], "watermark_column": "updated_at"}
    path.write_text(yaml.safe_dump({**spec, "columns": columns, "pii": pii}))
    with pytest.raises(SpecError, match=message) as raised:
        load_source(path)
    assert str(raised.value).startswith(f"{path}: ") and "\n" not in str(raised.value)


def test_a_resident_id_written_full_width_padded_or_with_a_lower_case_x_is_one_person():
    """Providers write the same ID differently; the check and the pseudonym see the declared normal form,
    so the forms get one verdict and one joinable pseudonym (the spec declares NFKC and upper case)."""
    plain = "34052419800101001X"
    written = [plain, "３４０５２４１９８００１０１００１Ｘ", f"  {plain.lower()}\u3000", plain.lower()]
    spec = SourceSpec(
        name="uw",
        channel="api",
        table="uw",
        keys=["application_id"],
        watermark_column="updated_at",
        columns={
            "application_id": "string",
            "updated_at": "timestamp",
            "person_id": {"kind": "string", "normalize": "nfkc", "case": "upper"},
        },
        pii={"person_id": {"action": "pseudonymize", "validate": "resident_id"}},
    )
    frame = pd.DataFrame({"application_id": [f"A{i}" for i in range(len(written))], "person_id": written})
    out = protect(frame, pii_rules(spec), KEY, None)
    assert out["person_id"].tolist() == [pseudonym(plain, KEY)] * len(written)
    assert out["person_id_valid"].tolist() == [1] * len(written)
    # Read back as the raw zone holds it: the pseudonym is never re-cased by the column's declaration.
    assert spec.landed_columns["person_id"].case is None and spec.columns["person_id"].case == "upper"
