"""Our JSON-LD context and ActivityStreams constants (docs/protocol.md, "The context")."""

from __future__ import annotations

from typing import Any

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
AP_CONTENT_TYPE = "application/activity+json"
FA = "https://w3id.org/fedassembly#"

# Inline, because consumers such as fedify process JSON-LD, drop undefined terms and cannot
# fetch unknown contexts offline. Structured values are @json so processors keep them whole.
_JSON_TERMS = (
    "fa:tally",
    "fa:outcome",
    "fa:ballotLog",
    "fa:rule",
    "fa:councilRule",
    "fa:delegates",
    "fa:schulze",
)
_ID_TERMS = ("fa:proposal", "fa:council", "fa:councilQuestion")
_PLAIN_TERMS = (
    "fa:kind",
    "fa:method",
    "fa:area",
    "fa:turnout",
    "fa:rosterSize",
    "fa:quorumMet",
    "fa:delegationDigest",
    "fa:deadline",
    "fa:digest",
    "fa:reason",
)

INLINE_CONTEXT: dict[str, Any] = {
    "fa": FA,
    # The group's proof key (FEP-521a): none of the three listed contexts defines these at the
    # top level, so a JSON-LD consumer (fedify's getAssertionMethods()) would drop the key.
    # The IRIs of https://w3id.org/security/multikey/v1, which we do not list: its Multikey is
    # @protected, so this inline Multikey after it would be a "protected term redefinition".
    # None of these is a protected term of data-integrity/v1 (id, type, proof,
    # DataIntegrityProof, digestMultibase), and its proofPurpose scope defines assertionMethod
    # exactly as here.
    "sec": "https://w3id.org/security#",
    "assertionMethod": {"@id": "sec:assertionMethod", "@type": "@id", "@container": "@set"},
    "Multikey": "sec:Multikey",
    "controller": {"@id": "sec:controller", "@type": "@id"},
    "publicKeyMultibase": "sec:publicKeyMultibase",
    "toot": "http://joinmastodon.org/ns#",
    "votersCount": "toot:votersCount",
    "discoverable": "toot:discoverable",
    "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
    "sensitive": "as:sensitive",
    **{term: {"@id": term, "@type": "@json"} for term in _JSON_TERMS},
    **{term: {"@id": term, "@type": "@id"} for term in _ID_TERMS},
    **{term: {"@id": term} for term in _PLAIN_TERMS},
}

CONTEXT: list[Any] = [
    AS_CONTEXT,
    "https://w3id.org/security/v1",
    "https://w3id.org/security/data-integrity/v1",
    INLINE_CONTEXT,
]


def context_document() -> dict[str, Any]:
    """The document served at ``/ns``: a copy of our inline context."""
    return {"@context": INLINE_CONTEXT}
