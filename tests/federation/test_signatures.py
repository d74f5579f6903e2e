"""HTTP signatures: round trips, every Mastodon rule, RFC 9421, spec vectors, fedify and apsig."""

from __future__ import annotations

import base64
import contextlib
import json
import re
import time
from email.utils import formatdate
from pathlib import Path
from typing import Any

import pytest
from apsig.draft.sign import Signer as ApsigSigner
from apsig.draft.verify import Verifier as ApsigVerifier
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from federation import keys
from federation.cavage import cavage_signing_string, sign_request
from federation.rfc9421 import sign_request_rfc9421
from federation.signature_common import SignatureError, body_digest, content_digest
from federation.signatures import signature_key_id, verify_request

VECTORS = Path(__file__).parent / "vectors"
FEDIFY_FIXTURES = Path(__file__).parents[1] / "interop" / "fixtures"
NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z
KEY_ID = "https://assembly.example/groups/barrio-norte#main-key"
INBOX = "https://mastodon.example/users/alice/inbox"
BODY = b'{"type":"Create","actor":"https://assembly.example/groups/barrio-norte"}'
AP = {"content-type": "application/activity+json"}


@pytest.fixture(scope="module")
def private_key() -> rsa.RSAPrivateKey:
    key = keys.load_private_key(keys.generate_rsa_private_pem())
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


@pytest.fixture(scope="module")
def public_key(private_key: rsa.RSAPrivateKey) -> rsa.RSAPublicKey:
    return private_key.public_key()


@pytest.fixture(scope="module")
def other_key() -> rsa.RSAPublicKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()


def signed_post(
    private_key: rsa.RSAPrivateKey, *, at: float = NOW, url: str = INBOX
) -> dict[str, str]:
    out = sign_request(
        method="POST",
        url=url,
        headers=AP,
        body=BODY,
        key_id=KEY_ID,
        private_key=private_key,
        now=at,
    )
    return {**AP, **out}


def cavage_header(private_key: rsa.RSAPrivateKey, text: str, params: str) -> str:
    """A hand-made draft-cavage Signature header over `text` with extra `params` first."""
    raw = private_key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f'{params}signature="{base64.b64encode(raw).decode()}"'


def verify(
    headers: dict[str, str],
    key: Any,
    *,
    method: str = "POST",
    url: str = INBOX,
    body: bytes | None = BODY,
    now: float = NOW,
) -> None:
    verify_request(method=method, url=url, headers=headers, body=body, public_key=key, now=now)


# --- digests and round trips ----------------------------------------------------------------


def test_digests_known_answers() -> None:
    # draft-cavage-12 appendix C body and RFC 9530 section 2 style value of the same bytes.
    assert (
        body_digest(b'{"hello": "world"}') == "SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE="
    )
    assert (
        content_digest(b'{"hello": "world"}')
        == "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
    )


def test_post_is_signed_as_mastodon_sends_it(
    private_key: rsa.RSAPrivateKey, public_key: rsa.RSAPublicKey
) -> None:
    headers = signed_post(private_key)
    assert headers["host"] == "mastodon.example"
    assert headers["date"] == formatdate(NOW, usegmt=True) == "Thu, 01 Jan 2026 00:00:00 GMT"
    assert headers["digest"] == body_digest(BODY)
    assert headers["signature"].startswith(
        f'keyId="{KEY_ID}",algorithm="rsa-sha256",'
        'headers="(request-target) host date digest content-type",'
    )
    verify(headers, public_key)
    assert signature_key_id(headers) == KEY_ID


def test_get_signs_host_and_accept(
    private_key: rsa.RSAPrivateKey, public_key: rsa.RSAPublicKey
) -> None:
    url = "https://mastodon.example/users/alice?page=2"
    given_headers = {"accept": "application/activity+json"}
    out = sign_request(
        method="GET",
        url=url,
        headers=given_headers,
        body=None,
        key_id=KEY_ID,
        private_key=private_key,
        now=NOW,
    )
    assert "digest" not in out
    assert 'headers="(request-target) host date accept"' in out["signature"]
    verify({**given_headers, **out}, public_key, method="GET", url=url, body=None)
    bare = sign_request(
        method="GET",
        url=url,
        headers={},
        body=None,
        key_id=KEY_ID,
        private_key=private_key,
        now=NOW,
    )
    assert 'headers="(request-target) host date"' in bare["signature"]
    verify(bare, public_key, method="GET", url=url, body=None)


def test_host_keeps_a_non_default_port(
    private_key: rsa.RSAPrivateKey, public_key: rsa.RSAPublicKey
) -> None:
    url = "http://127.0.0.1:8081/inbox"
    headers = signed_post(private_key, url=url)
    assert headers["host"] == "127.0.0.1:8081"
    verify(headers, public_key, url=url)
    assert signed_post(private_key, url="https://Example.COM:443/inbox")["host"] == "example.com"


def test_authorization_signature_form_is_accepted(
    private_key: rsa.RSAPrivateKey, public_key: rsa.RSAPublicKey
) -> None:
    headers = signed_post(private_key)
    headers["authorization"] = "Signature " + headers.pop("signature")
    verify(headers, public_key)
    assert signature_key_id(headers) == KEY_ID


def test_request_target_without_query_is_accepted_for_old_senders(
    private_key: rsa.RSAPrivateKey, public_key: rsa.RSAPublicKey
) -> None:
    # Older Mastodon omitted the query from (request-target); Mastodon retries without it.
    headers = signed_post(private_key, url="https://mastodon.example/users/alice/inbox")
    verify(headers, public_key, url="https://mastodon.example/users/alice/inbox?x=1")


def test_hs2019_with_created_and_absent_algorithm(
    private_key: rsa.RSAPrivateKey, public_key: rsa.RSAPublicKey
) -> None:
    created = int(NOW) - 30
    headers = {**AP, "host": "mastodon.example", "digest": body_digest(BODY)}
    text = cavage_signing_string(
        method="POST",
        url=INBOX,
        headers=headers,
        signed_headers=["(request-target)", "(created)", "host", "digest"],
        created=str(created),
    )
    params = f'keyId="{KEY_ID}",created={created},headers="(request-target) (created) host digest",'
    headers["signature"] = cavage_header(private_key, text, params)
    verify(headers, public_key)  # no algorithm parameter: hs2019
    headers["signature"] = cavage_header(private_key, text, params + 'algorithm="hs2019",')
    verify(headers, public_key)
    with pytest.raises(SignatureError, match="too old"):
        verify(headers, public_key, now=created + 3 * 3600)


def test_expires_in_the_past_is_refused_and_signed_expires_stretches_up_to_12_hours(
    private_key: rsa.RSAPrivateKey, public_key: rsa.RSAPublicKey
) -> None:
    created = int(NOW)
    names = ["(request-target)", "(created)", "(expires)", "host", "digest"]

    def with_expires(expires: int) -> dict[str, str]:
        headers = {**AP, "host": "mastodon.example", "digest": body_digest(BODY)}
        text = cavage_signing_string(
            method="POST",
            url=INBOX,
            headers=headers,
            signed_headers=names,
            created=str(created),
            expires=str(expires),
        )
        params = (
            f'keyId="{KEY_ID}",algorithm="hs2019",created={created},expires={expires},'
            f'headers="{" ".join(names)}",'
        )
        return {**headers, "signature": cavage_header(private_key, text, params)}

    with pytest.raises(SignatureError, match="expired"):
        verify(with_expires(created + 60), public_key, now=created + 120)
    verify(with_expires(created + 6 * 3600), public_key, now=created + 5 * 3600)
    with pytest.raises(SignatureError, match="too old"):
        verify(with_expires(created + 48 * 3600), public_key, now=created + 13 * 3600 + 1)


def test_unsigned_expires_cannot_stretch_the_window(
    private_key: rsa.RSAPrivateKey, public_key: rsa.RSAPublicKey
) -> None:
    headers = signed_post(private_key)
    headers["signature"] += f",expires={int(NOW) + 10 * 3600}"
    verify(headers, public_key, now=NOW + 3600)
    with pytest.raises(SignatureError, match="too old"):
        verify(headers, public_key, now=NOW + 2 * 3600)


# --- Mastodon's rules, one refusal each -----------------------------------------------------


@pytest.mark.parametrize(
    ("offset", "accepted"),
    [
        (-59 * 60, True),
        (-65 * 60, True),
        (-70 * 60, False),
        (-2 * 3600, False),
        (50 * 60, True),
        (2 * 3600, False),
    ],
)
def test_time_window(
    private_key: rsa.RSAPrivateKey, public_key: rsa.RSAPublicKey, offset: float, accepted: bool
) -> None:
    headers = signed_post(private_key, at=NOW + offset)
    if accepted:
        verify(headers, public_key)
    else:
        with pytest.raises(SignatureError, match=r"too old|future"):
            verify(headers, public_key)


def test_post_must_sign_digest(
    private_key: rsa.RSAPrivateKey, public_key: rsa.RSAPublicKey
) -> None:
    headers = {**signed_post(private_key)}
    names = ["(request-target)", "host", "date"]
    text = cavage_signing_string(method="POST", url=INBOX, headers=headers, signed_headers=names)
    headers["signature"] = cavage_header(
        private_key, text, f'keyId="{KEY_ID}",algorithm="rsa-sha256",headers="{" ".join(names)}",'
    )
    with pytest.raises(SignatureError, match="POST must sign the Digest"):
        verify(headers, public_key)


def test_get_must_sign_host(private_key: rsa.RSAPrivateKey, public_key: rsa.RSAPublicKey) -> None:
    headers = {"date": formatdate(NOW, usegmt=True), "host": "mastodon.example"}
    names = ["(request-target)", "date"]
    text = cavage_signing_string(method="GET", url=INBOX, headers=headers, signed_headers=names)
    headers["signature"] = cavage_header(
        private_key, text, f'keyId="{KEY_ID}",algorithm="rsa-sha256",headers="{" ".join(names)}",'
    )
    with pytest.raises(SignatureError, match="GET must sign the Host"):
        verify(headers, public_key, method="GET", body=None)


def test_date_or_created_and_target_or_digest_must_be_signed(
    private_key: rsa.RSAPrivateKey, public_key: rsa.RSAPublicKey
) -> None:
    base = signed_post(private_key)
    for names, reason in [
        (["(request-target)", "host", "digest"], "Date header or \\(created\\)"),
        (["host", "date"], "\\(request-target\\) or the Digest"),
    ]:
        headers = {**base}
        text = cavage_signing_string(method="GET", url=INBOX, headers=headers, signed_headers=names)
        headers["signature"] = cavage_header(
            private_key,
            text,
            f'keyId="{KEY_ID}",algorithm="rsa-sha256",headers="{" ".join(names)}",',
        )
        with pytest.raises(SignatureError, match=reason):
            verify(headers, public_key, method="GET")


def test_absent_headers_parameter_defaults_as_mastodon(
    private_key: rsa.RSAPrivateKey, public_key: rsa.RSAPublicKey
) -> None:
    headers = signed_post(private_key)
    text = f"date: {headers['date']}"
    headers["signature"] = cavage_header(
        private_key, text, f'keyId="{KEY_ID}",algorithm="rsa-sha256",'
    )
    with pytest.raises(SignatureError, match="\\(request-target\\) or the Digest"):
        verify(headers, public_key)
    headers["signature"] = cavage_header(private_key, text, f'keyId="{KEY_ID}",')
    with pytest.raises(SignatureError, match="\\(request-target\\) or the Digest"):
        verify(headers, public_key)  # hs2019 defaults to (created) alone: as weak


def test_digest_must_be_sha256_and_match(
    private_key: rsa.RSAPrivateKey, public_key: rsa.RSAPublicKey
) -> None:
    headers = signed_post(private_key)
    with pytest.raises(SignatureError, match="does not match the body"):
        verify(headers, public_key, body=BODY.replace(b"Create", b"Delete"))
    md5 = {**headers, "digest": "MD5=" + base64.b64encode(b"0" * 16).decode()}
    with pytest.raises(SignatureError, match="only SHA-256"):
        verify(md5, public_key)
    both = {**headers, "digest": "md5=abc, " + headers["digest"]}
    with pytest.raises(SignatureError, match="does not match the request"):
        verify(both, public_key)  # digest accepted, but the signed digest line changed


def test_algorithm_must_be_rsa_sha256_or_hs2019(
    private_key: rsa.RSAPrivateKey, public_key: rsa.RSAPublicKey
) -> None:
    headers = signed_post(private_key)
    headers["signature"] = headers["signature"].replace(
        'algorithm="rsa-sha256"', 'algorithm="hmac-sha256"'
    )
    with pytest.raises(SignatureError, match="unsupported signature algorithm 'hmac-sha256'"):
        verify(headers, public_key)


def test_created_pseudo_header_needs_hs2019(
    private_key: rsa.RSAPrivateKey, public_key: rsa.RSAPublicKey
) -> None:
    headers = signed_post(private_key)
    headers["signature"] = (
        headers["signature"].replace("host date", "host (created)") + ",created=1"
    )
    with pytest.raises(SignatureError, match="only be signed with hs2019"):
        verify(headers, public_key)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "garbage",
        'keyId="a",,signature="b"',
        'keyId="a" signature="b"',
        'keyId="unterminated',
        'keyId="a",keyId="b",signature="c"',
        'keyId="a",headers="date",signature="c",',
        'algorithm="rsa-sha256",headers="date",signature="c"',
    ],
)
def test_unparseable_or_incomplete_signature_header(
    public_key: rsa.RSAPublicKey, value: str
) -> None:
    headers = {
        **AP,
        "signature": value,
        "date": formatdate(NOW, usegmt=True),
        "digest": body_digest(BODY),
    }
    with pytest.raises(SignatureError):
        verify(headers, public_key)


def test_garbage_base64_signature(
    private_key: rsa.RSAPrivateKey, public_key: rsa.RSAPublicKey
) -> None:
    headers = signed_post(private_key)
    start = headers["signature"].index('signature="') + len('signature="')
    headers["signature"] = (
        headers["signature"][:start] + "!!not*base64$$" + headers["signature"][start + 14 :]
    )
    with pytest.raises(SignatureError, match="not valid base64"):
        verify(headers, public_key)


def test_wrong_key_and_wrong_key_type(
    private_key: rsa.RSAPrivateKey, other_key: rsa.RSAPublicKey
) -> None:
    headers = signed_post(private_key)
    with pytest.raises(SignatureError, match="does not match"):
        verify(headers, other_key)
    with pytest.raises(SignatureError, match="RSA keys only"):
        verify(headers, ed25519.Ed25519PrivateKey.generate().public_key())
    with pytest.raises(SignatureError):
        verify(headers, None)


def test_tampered_signed_header_or_path(
    private_key: rsa.RSAPrivateKey, public_key: rsa.RSAPublicKey
) -> None:
    headers = signed_post(private_key)
    with pytest.raises(SignatureError, match="does not match"):
        verify({**headers, "content-type": "text/plain"}, public_key)
    with pytest.raises(SignatureError, match="does not match"):
        verify(headers, public_key, url="https://mastodon.example/users/bob/inbox")


def test_line_break_in_a_signed_header_is_refused(
    private_key: rsa.RSAPrivateKey, public_key: rsa.RSAPublicKey
) -> None:
    headers = signed_post(private_key)
    with pytest.raises(SignatureError, match="line break"):
        verify({**headers, "content-type": "application/activity+json\ndigest: x"}, public_key)


def test_missing_signature_and_key_id() -> None:
    with pytest.raises(SignatureError, match="not signed"):
        signature_key_id({"authorization": "Bearer abc"})
    with pytest.raises(SignatureError, match="no keyId"):
        signature_key_id({"signature": 'signature="abc"'})


_FUZZ_KEY = rsa.generate_private_key(public_exponent=65537, key_size=1024)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200), st.sampled_from(["signature", "signature-input", "authorization"]))
def test_any_header_text_fails_only_with_signature_error(value: str, name: str) -> None:
    public = _FUZZ_KEY.public_key()
    headers = {name: value, "signature": value, "date": formatdate(NOW, usegmt=True)}
    with pytest.raises(SignatureError):
        verify(headers, public)
    with contextlib.suppress(SignatureError):
        signature_key_id(headers)


# --- RFC 9421 -------------------------------------------------------------------------------


def rfc9421_post(private_key: Any, *, at: float = NOW, body: bytes = BODY) -> dict[str, str]:
    out = sign_request_rfc9421(
        method="POST",
        url=INBOX,
        headers=AP,
        body=body,
        key_id=KEY_ID,
        private_key=private_key,
        now=at,
    )
    return {**AP, **out}


def resign_9421(
    private_key: rsa.RSAPrivateKey,
    headers: dict[str, str],
    components: str,
    params: str,
    *,
    base: str,
) -> dict[str, str]:
    """Replace the signature with one over a hand-written base and Signature-Input."""
    raw = private_key.sign(base.encode(), padding.PKCS1v15(), hashes.SHA256())
    return {
        **headers,
        "signature-input": f"sig1={components}{params}",
        "signature": f"sig1=:{base64.b64encode(raw).decode()}:",
    }


def test_rfc9421_round_trips(private_key: rsa.RSAPrivateKey, public_key: rsa.RSAPublicKey) -> None:
    headers = rfc9421_post(private_key)
    assert headers["content-digest"] == content_digest(BODY)
    assert headers["signature-input"] == (
        f'sig1=("@method" "@target-uri" "content-digest");created={int(NOW)};keyid="{KEY_ID}";'
        'alg="rsa-v1_5-sha256"'
    )
    verify(headers, public_key)
    assert signature_key_id(headers) == KEY_ID
    ed = ed25519.Ed25519PrivateKey.generate()
    get = sign_request_rfc9421(
        method="GET", url=INBOX, headers={}, body=None, key_id=KEY_ID, private_key=ed, now=NOW
    )
    assert "content-digest" not in get
    verify(get, ed.public_key(), method="GET", body=None)


@pytest.mark.parametrize(
    ("offset", "accepted"),
    [(-60 * 60, True), (-70 * 60, False), (-2 * 3600, False), (2 * 3600, False)],
)
def test_rfc9421_time_window(
    private_key: rsa.RSAPrivateKey, public_key: rsa.RSAPublicKey, offset: float, accepted: bool
) -> None:
    headers = rfc9421_post(private_key, at=NOW + offset)
    if accepted:
        verify(headers, public_key)
    else:
        with pytest.raises(SignatureError, match=r"too old|future"):
            verify(headers, public_key)


def test_rfc9421_rules(private_key: rsa.RSAPrivateKey, public_key: rsa.RSAPublicKey) -> None:
    headers = rfc9421_post(private_key)
    created = int(NOW)
    target = f'"@target-uri": {INBOX}'

    no_target = resign_9421(
        private_key,
        headers,
        '("@method" "content-digest")',
        f';created={created};keyid="{KEY_ID}"',
        base=f'"@method": POST\n"content-digest": {headers["content-digest"]}\n'
        f'"@signature-params": ("@method" "content-digest");created={created};keyid="{KEY_ID}"',
    )
    with pytest.raises(SignatureError, match="@method and @target-uri"):
        verify(no_target, public_key)

    no_digest = resign_9421(
        private_key,
        headers,
        '("@method" "@target-uri")',
        f';created={created};keyid="{KEY_ID}"',
        base=f'"@method": GET\n{target}\n'
        f'"@signature-params": ("@method" "@target-uri");created={created};keyid="{KEY_ID}"',
    )
    with pytest.raises(SignatureError, match="POST must cover content-digest"):
        verify(no_digest, public_key)
    verify(no_digest, public_key, method="GET", body=None)  # absent alg: RSA by key type

    no_created = {
        **headers,
        "signature-input": headers["signature-input"].replace(f";created={created}", ""),
    }
    with pytest.raises(SignatureError, match="created parameter is required"):
        verify(no_created, public_key)

    with pytest.raises(SignatureError, match="does not match the body"):
        verify(headers, public_key, body=BODY + b" ")
    sha512 = {**headers, "content-digest": "sha-512=:" + base64.b64encode(bytes(64)).decode() + ":"}
    with pytest.raises(SignatureError, match="only sha-256"):
        verify(sha512, public_key)

    hmac = {
        **headers,
        "signature-input": headers["signature-input"].replace("rsa-v1_5-sha256", "hmac-sha256"),
    }
    with pytest.raises(SignatureError, match="unsupported RFC 9421 alg"):
        verify(hmac, public_key)
    with pytest.raises(SignatureError, match=r"needs an Ed25519 key|needs an RSA key"):
        verify(headers, ed25519.Ed25519PrivateKey.generate().public_key())
    with pytest.raises(SignatureError, match="does not match the request"):
        verify(headers, public_key, url=INBOX + "?x=1")


def test_rfc9421_takes_the_first_label(
    private_key: rsa.RSAPrivateKey, public_key: rsa.RSAPublicKey
) -> None:
    headers = rfc9421_post(private_key)
    extra = {
        **headers,
        "signature-input": headers["signature-input"] + ', sig2=("@method");created=1;keyid="x"',
        "signature": headers["signature"] + ", sig2=:AAAA:",
    }
    verify(extra, public_key)
    relabelled = {**headers, "signature": headers["signature"].replace("sig1=", "other=")}
    with pytest.raises(SignatureError, match="labelled 'sig1'"):
        verify(relabelled, public_key)


@pytest.mark.parametrize(
    "signature_input",
    [
        "",
        "sig1",
        'sig1=("@method" "@target-uri");created=abc;keyid="k"',
        'sig1=("@method" "@target-uri";req);created=1;keyid="k"',
        'sig1=("@method" @target-uri);created=1;keyid="k"',
        'sig1=("@method" "@method" "@target-uri");created=1;keyid="k"',
        'sig1=("@method" "@target-uri" "@status");created=1;keyid="k"',
        'sig1=("@method" "@target-uri");created=1',
        'sig1=("@method" "@target-uri";created=1;keyid="k"',
        'sig1=("@method" "@target-uri");created=1;keyid="k",',
    ],
)
def test_rfc9421_malformed_inputs(public_key: rsa.RSAPublicKey, signature_input: str) -> None:
    headers = {"signature-input": signature_input, "signature": "sig1=:AAAA:"}
    with pytest.raises(SignatureError):
        verify(headers, public_key, method="GET", body=None)


# --- draft-cavage-12 appendix C vectors ----------------------------------------------------


CAVAGE = json.loads((VECTORS / "draft-cavage-12.json").read_text())


@pytest.mark.parametrize("case", CAVAGE["cases"], ids=[c["name"] for c in CAVAGE["cases"]])
def test_draft_cavage_12_vectors(case: dict[str, Any]) -> None:
    request = CAVAGE["request"]
    headers = {**request["headers"], "signature": case["signature_header"]}
    text = cavage_signing_string(
        method=request["method"],
        url=request["url"],
        headers=headers,
        signed_headers=case["signed_headers"],
    )
    assert text == case["signing_string"]
    # PKCS#1 v1.5 is deterministic: our signing string and the spec key give the spec signature.
    private = keys.load_private_key(CAVAGE["private_key_pem"])
    assert isinstance(private, rsa.RSAPrivateKey)  # the spec's key is RSA
    raw = private.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())
    assert f'signature="{base64.b64encode(raw).decode()}"' in case["signature_header"]
    public = keys.load_public_key(CAVAGE["public_key_pem"])
    assert signature_key_id(headers) == "Test"
    call = {
        "method": request["method"],
        "url": request["url"],
        "headers": headers,
        "body": request["body"].encode(),
        "public_key": public,
        "now": request["now"],
    }
    if case["mastodon_accepts"]:
        verify_request(**call)
    else:
        with pytest.raises(SignatureError, match=re.escape(case["mastodon_refusal"])):
            verify_request(**call)


# --- fedify 2.3.6, captured (tests/interop/fixtures) ----------------------------------------


def test_fedify_double_knock_verifies() -> None:
    capture = json.loads((FEDIFY_FIXTURES / "fedify_signed_create_note.json").read_text())
    actor = json.loads((FEDIFY_FIXTURES / "fedify_bob_actor.json").read_text())
    public = keys.load_public_key(actor["publicKey"]["publicKeyPem"])
    now = float(capture["signed_at"]["rfc9421_created"])
    specs = []
    for request in capture["requests"]:
        headers = {name.lower(): value for name, value in request["headers"]}
        call = {
            "method": request["method"],
            "url": request["url"],
            "headers": headers,
            "body": request["body"].encode(),
            "public_key": public,
        }
        assert signature_key_id(headers) == actor["publicKey"]["id"]
        verify_request(**call, now=now)
        with pytest.raises(SignatureError, match="too old"):
            verify_request(**call, now=now + 2 * 3600)
        specs.append("signature-input" in headers)
    assert specs == [True, False]  # RFC 9421 first, then draft-cavage


# --- third-party cross-check: apsig 0.6.0 ---------------------------------------------------


def test_apsig_verifies_our_signatures(private_key: rsa.RSAPrivateKey) -> None:
    # apsig checks Date against the wall clock (300 s) and (request-target) without the query.
    now = time.time()
    public_pem = keys.public_pem_of(_pem(private_key))
    post = sign_request(
        method="POST",
        url=INBOX,
        headers=AP,
        body=BODY,
        key_id=KEY_ID,
        private_key=private_key,
        now=now,
    )
    assert (
        ApsigVerifier(public_pem, "POST", INBOX, {**AP, **post}, BODY).verify(raise_on_fail=True)
        == KEY_ID
    )
    url = "https://mastodon.example/users/alice"
    get = sign_request(
        method="GET",
        url=url,
        headers={"accept": "application/activity+json"},
        body=None,
        key_id=KEY_ID,
        private_key=private_key,
        now=now,
    )
    headers = {"accept": "application/activity+json", **get}
    assert ApsigVerifier(public_pem, "GET", url, headers, None).verify(raise_on_fail=True) == KEY_ID


def test_we_verify_apsig_signatures(
    private_key: rsa.RSAPrivateKey, public_key: rsa.RSAPublicKey
) -> None:
    now = time.time()
    post = ApsigSigner({**AP}, private_key, "POST", INBOX, KEY_ID, BODY).sign()
    headers = {name.lower(): value for name, value in post.items()}
    verify(headers, public_key, now=now)
    assert signature_key_id(headers) == KEY_ID
    with pytest.raises(SignatureError, match="does not match the body"):
        verify(headers, public_key, body=b"{}", now=now)
    url = "https://mastodon.example/users/alice"
    get = ApsigSigner(
        {"accept": "application/activity+json"}, private_key, "GET", url, KEY_ID
    ).sign()
    verify(
        {k.lower(): v for k, v in get.items()},
        public_key,
        method="GET",
        url=url,
        body=None,
        now=now,
    )


def _pem(private_key: rsa.RSAPrivateKey) -> str:
    from cryptography.hazmat.primitives import serialization

    return private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
