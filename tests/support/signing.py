"""Signatures built by hand for attack tests: any covered headers, algorithm, time or target.

Real RSA signatures over the signing string (draft-cavage) or signature base (RFC 9421) that our
own verifier builds, so a request differs from a good one only in what the test changes.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Sequence
from email.utils import formatdate

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from federation.cavage import cavage_signing_string
from federation.keys import load_private_key
from federation.rfc9421 import signature_base
from federation.signature_common import body_digest, content_digest, split_target
from federation.structured_fields import Bare, Item, serialize_inner_list

from .remote import RemoteActor

AP = "application/activity+json"


def _rsa(actor: RemoteActor) -> rsa.RSAPrivateKey:
    key = load_private_key(actor.private_pem)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def cavage(
    actor: RemoteActor,
    url: str,
    body: bytes,
    names: Sequence[str] = ("(request-target)", "host", "date", "digest"),
    *,
    method: str = "POST",
    algorithm: str | None = "rsa-sha256",
    now: float | None = None,
    created: int | None = None,
    expires: int | None = None,
    digest: str | None = None,
    key_id: str | None = None,
) -> dict[str, str]:
    """Draft-cavage headers for ``body`` to ``url`` covering ``names``, signed by ``actor``.

    ``created``/``expires`` become signature parameters; ``digest`` replaces the true Digest.
    """
    headers = {
        "host": split_target(url).authority,
        "date": formatdate(time.time() if now is None else now, usegmt=True),
        "digest": body_digest(body) if digest is None else digest,
        "content-type": AP,
    }
    text = cavage_signing_string(
        method=method, url=url, headers=headers, signed_headers=list(names),
        created=None if created is None else str(created), expires=None if expires is None else str(expires),
    )
    raw = _rsa(actor).sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())
    params = [f'keyId="{key_id or actor.key_id}"']
    if algorithm is not None:
        params.append(f'algorithm="{algorithm}"')
    if created is not None:
        params.append(f"created={created}")
    if expires is not None:
        params.append(f"expires={expires}")
    params += [f'headers="{" ".join(names)}"', f'signature="{base64.b64encode(raw).decode()}"']
    return {**headers, "signature": ",".join(params)}


def rfc9421(
    actor: RemoteActor,
    url: str,
    body: bytes,
    components: Sequence[str] = ("@method", "@target-uri", "@authority", "content-digest"),
    *,
    method: str = "POST",
    now: float | None = None,
) -> dict[str, str]:
    """RFC 9421 headers for ``body`` to ``url`` covering ``components``, signed by ``actor``."""
    headers = {"content-digest": content_digest(body), "content-type": AP}
    params: dict[str, Bare] = {
        "created": int(time.time() if now is None else now), "keyid": actor.key_id, "alg": "rsa-v1_5-sha256",
    }
    members: list[Item] = [(name, {}) for name in components]
    signature_params = serialize_inner_list(members, params)
    base = signature_base(method, split_target(url), headers, list(components), signature_params)
    raw = _rsa(actor).sign(base, padding.PKCS1v15(), hashes.SHA256())
    return {
        **headers,
        "signature-input": "sig1=" + signature_params,
        "signature": "sig1=:" + base64.b64encode(raw).decode() + ":",
    }
