"""Hypothesis strategies for fuzzing a real node: values, inbox activities, API calls, roster CSVs.

Everything is drawn relative to a ``Target``: what the node under test holds (its assembly, the
proposals in each state, the remote actors whose keys the test controls), so that most examples
reach deep into the handlers instead of stopping at the first check. Each family has three
grades mixed together: valid (what Mastodon or a client really sends), near-valid (one to three
fields mutated) and hostile (wrong types everywhere, deep nesting, huge strings, unicode edge
cases, JSON-LD restructuring keywords, bytes that are not UTF-8).

Extend here: a new activity type is one more branch of ``plain_activity``; API calls and roster
CSVs are in ``strategies_api.py``, built on the values here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

AS = "https://www.w3.org/ns/activitystreams"
PUBLIC = f"{AS}#Public"
JSONLD_KEYWORDS = ("@graph", "@included", "@reverse")


@dataclass(frozen=True)
class Target:
    """What the node under test offers to aim at."""

    base: str  # the node, e.g. http://127.0.0.1:PORT
    group: str  # its assembly
    remote_base: str  # the loopback remote server
    members: tuple[str, ...]  # remote actor names on the assembly's roster
    strangers: tuple[str, ...]  # remote actor names on no roster
    # Proposal ids by what they are: the open ones by method, then "closed" and "withdrawn".
    proposals: dict[str, int] = field(default_factory=dict)
    options: dict[int, tuple[str, ...]] = field(default_factory=dict)
    people: tuple[str, ...] = ()  # local people (the first is the facilitator)

    @property
    def group_url(self) -> str:
        return f"{self.base}/groups/{self.group}"

    def actor_id(self, name: str) -> str:
        return f"{self.remote_base}/users/{name}"

    @property
    def remote_host(self) -> str:
        return self.remote_base.split("://", 1)[1]

    @property
    def all_options(self) -> tuple[str, ...]:
        return tuple(sorted({o for options in self.options.values() for o in options}))


# -- values --------------------------------------------------------------------------------------

# Text that has broken servers: controls and NUL, bidi overrides, combining marks, the BOM and
# non-characters, astral emoji, a lone surrogate (reaches the wire only as a \ud800 escape or as
# its bytes encoded with surrogatepass), homoglyphs, HTML and SQL-looking text, a very long word.
EDGE_STRINGS = (
    "", " ", "\x00", "a\x00b", "\t\n\r", "\u202egreen", "e\u0301", "\ufeff", "\uffff", "\U0010ffff",
    "🎨", "👩‍👩‍👧", "\ud800", "\udfff", "green\udc00", "ｇｒｅｅｎ", "gr\u200been", "<script>x</script>",
    "'; DROP TABLE ballots; --", "%00", "../../etc/passwd", "ℌ𝔢𝔩𝔩𝔬", "١٢٣", "\u0660", "x" * 5000,
)
edge_text = st.sampled_from(EDGE_STRINGS) | st.text(
    st.characters(min_codepoint=0, max_codepoint=0x10FFFF), max_size=40
)
# Huge, but below the inbox's 1 MiB limit most of the time (so they reach the handlers).
huge_text = st.tuples(st.sampled_from((70_000, 300_000, 600_000)), st.sampled_from(("x", "é", "🎨"))).map(
    lambda size_char: size_char[1] * (size_char[0] // len(size_char[1].encode()))
)
edge_numbers = st.sampled_from(
    (0, -1, 1, 2**31, 2**63 - 1, 2**63, 2**64, -(2**63) - 1, 10**30, 1.5, -0.0, 1e308, 5e-324)
) | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
scalars = st.none() | st.booleans() | edge_numbers | edge_text
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(edge_text, inner, max_size=4),
    max_leaves=10,
)


def nested(depth: int, leaf: Any = "x") -> Any:
    """A value ``depth`` levels deep, alternating lists and objects."""
    value = leaf
    for level in range(depth):
        value = [value] if level % 2 else {"a": value}
    return value


deep_values = st.sampled_from((50, 400, 900)).map(nested)
hostile_values = (
    json_values | deep_values | huge_text
    | st.sampled_from(JSONLD_KEYWORDS).map(lambda k: {k: [{"type": "Note"}]})
)


def wrong_for(value: Any) -> st.SearchStrategy[Any]:
    """Values of another JSON type than ``value``'s (and a few of the same, hostile)."""
    return hostile_values.filter(lambda other: type(other) is not type(value) or other != value)


# -- raw bodies ----------------------------------------------------------------------------------

def encode(value: Any, ascii_only: bool) -> bytes:
    """JSON bytes as senders write them: escaped (Python) or raw UTF-8 (Mastodon, fedify); a lone
    surrogate becomes a ``\\ud800`` escape or, raw, its three bytes (surrogatepass)."""
    return json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


# ``mangle`` and ``mutate`` take the draw function rather than being strategies of their own: a
# strategy's repr holds its arguments, and these are whole bodies.

def mangle(draw: st.DrawFn, body: bytes) -> bytes:
    """``body`` broken at the byte level: invalid UTF-8, escapes, truncation, deep nesting."""
    kind = draw(st.sampled_from(("invalid_utf8", "surrogate_escape", "truncate", "deep", "wrap", "bom")))
    at = draw(st.integers(0, max(len(body) - 1, 0)))
    if kind == "invalid_utf8":
        junk = draw(st.sampled_from((b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x80")))
        return body[:at] + junk + body[at:]
    if kind == "surrogate_escape":
        quote_at = body.find(b'"', at)
        escape = draw(st.sampled_from((b"\\ud800", b"\\uDFFF", b"\\ud83d\\ud83d", b"\\\\ud800\\udc00")))
        return body if quote_at < 0 else body[: quote_at + 1] + escape + body[quote_at + 1:]
    if kind == "truncate":
        return body[:at]
    if kind == "deep":
        depth = draw(st.sampled_from((1000, 100_000)))
        return b"[" * depth + body + b"]" * depth
    if kind == "wrap":
        return draw(st.sampled_from((b"[", b'{"a":'))) + body + draw(st.sampled_from((b"]", b"}")))
    return b"\xef\xbb\xbf" + body


# -- activities ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Post:
    """One signed inbox POST: who signs, where, and the exact bytes."""

    signer: str  # remote actor name
    inbox: str  # URL
    body: bytes
    # How the real signature is then spoilt (see harness.FuzzNode.post): ("none", "") keeps it.
    spoil: tuple[str, str] = ("none", "")

    def numbered(self, number: int) -> bytes:
        """The body with every FRESH mark replaced by ``number``."""
        return self.body.replace(FRESH.encode(), str(number).encode())


def _proposal_urls(t: Target) -> st.SearchStrategy[str]:
    known = [f"{t.base}/proposals/{pid}" for pid in t.proposals.values()]
    unknown = [
        f"{t.base}/proposals/999999", f"{t.base}/proposals/{2**63}", f"{t.base}/proposals/{2**64}",
        f"{t.base}/proposals/0", f"{t.base}/proposals/-1", f"{t.base}/proposals/٣", f"{t.base}/proposals/",
        f"{t.base}/proposals/1/ballots", f"{t.base}/proposals/01", "https://elsewhere.example/proposals/1",
        f"{t.remote_base}/proposals/1", f"{t.base}/groups/{t.group}",
    ]
    return st.sampled_from(known) | st.sampled_from(unknown)


# Replaced by a number of its own in each POST (Post.numbered), so that most activities are new
# rather than duplicates of an earlier example's; ids without it test deduplication.
FRESH = "~fresh~"


def _ids_for(t: Target, signer_id: str) -> st.SearchStrategy[str]:
    """Activity and object ids: on the signer's host mostly, elsewhere or on our host sometimes."""
    suffix = st.integers(0, 10**6).map(str)
    return st.one_of(
        suffix.map(lambda s: f"{signer_id}/statuses/{s}{FRESH}"),
        suffix.map(lambda s: f"{signer_id}/statuses/{s}{FRESH}"),
        suffix.map(lambda s: f"{signer_id}/statuses/{s}"),
        suffix.map(lambda s: f"https://other.example/notes/{s}"),
        suffix.map(lambda s: f"{t.base}/objects/{s}"),
        st.sampled_from((f"{signer_id}#votes/1", "http://", "https://x", f"{signer_id}/\ud800")),
    )


def _audience(t: Target) -> st.SearchStrategy[Any]:
    group = t.group_url
    return st.sampled_from(
        (group, [group], [group, PUBLIC], [], f"{group}/followers", f"{t.base}/groups/nobody", None)
    )


@st.composite
def vote_note(draw: st.DrawFn, t: Target, signer_id: str) -> dict[str, Any]:
    """A Mastodon poll vote: a Note inReplyTo the Question, the option as ``name``, no content.

    Mostly one of the proposal's own options (so that ballots get stored and replaced), else
    another proposal's, or any text."""
    known = sorted(t.proposals.items())
    # Hypothesis starts from (and shrinks towards) 0: there, the valid vote.
    if known and draw(st.integers(0, 3)) < 3:
        _kind, pid = draw(st.sampled_from(known))
        proposal = f"{t.base}/proposals/{pid}"
        own = t.options.get(pid, ())
        name = draw(st.sampled_from(own)) if own and draw(st.integers(0, 3)) < 3 else draw(
            st.sampled_from(t.all_options) | edge_text)
    else:
        proposal = draw(_proposal_urls(t))
        name = draw(st.sampled_from(t.all_options) | edge_text) if t.all_options else draw(edge_text)
    note: dict[str, Any] = {
        "id": draw(_ids_for(t, signer_id)), "type": "Note", "name": name, "attributedTo": signer_id,
        "inReplyTo": proposal, "to": draw(st.just(t.group_url) | _audience(t)),
    }
    if draw(st.integers(0, 4)) == 4:
        note["content"] = draw(st.sampled_from(("", None, "<p>green</p>")) | edge_text)
    return note


@st.composite
def command_note(draw: st.DrawFn, t: Target, signer_id: str) -> dict[str, Any]:
    """A direct mention of the assembly carrying a command (or anything else)."""
    handle = f"@{t.group}@{t.base.split('://', 1)[1]}"
    member = draw(st.sampled_from(t.members + t.strangers))
    words = draw(st.sampled_from((
        f"delegate @{member}@{t.remote_host}", f"delegate @{member}@{t.remote_host} housing", "revoke",
        "revoke housing", "status", "help", "delegate", f"delegate {t.actor_id(member)}", "delegate @x@y",
    )) | edge_text)
    return {
        "id": draw(_ids_for(t, signer_id)), "type": "Note", "attributedTo": signer_id,
        "content": f'<p><span class="h-card"><a href="{t.group_url}">{handle}</a></span> {words}</p>',
        "to": [t.group_url], "cc": [],
        "tag": draw(st.sampled_from(([{"type": "Mention", "href": t.group_url, "name": handle}], [], None))),
    }


@st.composite
def plain_activity(draw: st.DrawFn, t: Target, signer_id: str) -> dict[str, Any]:
    """A valid-looking activity of any type we know (or not)."""
    kinds = ("vote",) * 5 + ("command",) * 2 + ("Follow", "Undo", "Accept", "Delete", "other")
    kind = draw(st.sampled_from(kinds))
    activity: dict[str, Any] = {"@context": AS, "id": draw(_ids_for(t, signer_id)), "actor": signer_id}
    if kind in ("vote", "command"):
        note = draw(vote_note(t, signer_id) if kind == "vote" else command_note(t, signer_id))
        activity.update(type="Create", to=note.get("to"), object=note)
    elif kind == "Follow":
        activity.update(type="Follow", object=draw(st.sampled_from(
            (t.group_url, f"{t.base}/people/{t.people[0]}" if t.people else t.group_url,
             f"{t.base}/actor", f"{t.base}/groups/nobody", t.actor_id("x"))
        )))
    elif kind == "Undo":
        follow_id = draw(_ids_for(t, signer_id))
        activity.update(type="Undo", object=draw(st.sampled_from(
            ({"id": follow_id, "type": "Follow", "actor": signer_id, "object": t.group_url}, follow_id)
        )))
    elif kind == "Accept":
        activity.update(type="Accept", object=draw(st.sampled_from(
            (f"{t.base}/activities/1", {"id": f"{t.base}/activities/1", "type": "Follow"})
        )))
    elif kind == "Delete":
        activity.update(type="Delete", object=draw(st.sampled_from(
            ({"id": f"{signer_id}/statuses/1", "type": "Tombstone"}, f"{signer_id}/statuses/1",
             t.actor_id("someone_else"))
        )))
    else:
        activity.update(type=draw(st.sampled_from(("Like", "Announce", "Update", "Question", "Block", "Flag"))
                                  | edge_text), object=draw(_proposal_urls(t)))
    return activity


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a member of ``value`` (keys of objects, indexes of lists)."""
    found: list[tuple[Any, ...]] = []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        found.append((*prefix, key))
        found.extend(_paths(item, (*prefix, key)))
    return found


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = _replace(copy[path[0]], path[1:], new)
    return copy


def mutate(draw: st.DrawFn, value: Any) -> Any:
    """``value`` with one to three members replaced: wrong types, nulls, an array where an object
    belongs, a restructuring keyword, deep nesting, a huge string."""
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(value)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        old: Any = value
        for key in path:
            old = old[key]
        how = draw(st.sampled_from(("wrong", "null", "array", "keyword")))
        if how == "wrong":
            new = draw(wrong_for(old))
        elif how == "null":
            new = None
        elif how == "array":
            new = [old, old]
        else:
            new = {**old, draw(st.sampled_from(JSONLD_KEYWORDS)): [old]} if isinstance(old, dict) else [
                {draw(st.sampled_from(JSONLD_KEYWORDS)): old}]
        value = _replace(value, path, new)
    return value


def inboxes(t: Target) -> st.SearchStrategy[str]:
    people = [f"{t.base}/people/{p}/inbox" for p in t.people[:1]]
    return st.sampled_from([f"{t.group_url}/inbox"] * 4 + [f"{t.base}/inbox", *people,
                                                           f"{t.base}/groups/nobody/inbox"])


@st.composite
def activities(draw: st.DrawFn, t: Target) -> Post:
    """A signed POST to one of the node's inboxes: valid, near-valid or hostile."""
    signer = draw(st.sampled_from(t.members + t.strangers))
    signer_id = t.actor_id(signer)
    activity = draw(plain_activity(t, signer_id))
    grade = draw(st.sampled_from(("valid", "valid", "near", "near", "hostile")))
    if grade == "near":
        activity = mutate(draw, activity)
    elif grade == "hostile":
        how = draw(st.sampled_from(("mutate", "anything", "deep", "other actor")))
        if how == "mutate":
            activity = mutate(draw, activity)
        elif how == "other actor":  # signed by one actor, claiming another: 401
            activity = {**activity, "actor": t.actor_id(draw(st.sampled_from(t.members)))}
        else:
            anything: Any = draw(json_values if how == "anything" else deep_values)
            activity = anything
    try:
        body = encode(activity, draw(st.booleans()))
    except (RecursionError, ValueError):  # deeper than json.dumps goes: send it as bytes
        body = b"[" * 2000 + b"]" * 2000
    if grade == "hostile" and draw(st.booleans()):
        body = mangle(draw, body)
    return Post(signer, draw(inboxes(t)), body, draw(spoilt_signatures))


# Header text as HTTP carries it: Latin-1, no CR or LF.
header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
                      max_size=300)
SPOILS = ("none",) * 6 + ("drop", "stale", "digest", "signature", "key_id", "headers", "rfc9421")
spoilt_signatures = st.tuples(st.sampled_from(SPOILS), header_text | st.sampled_from(
    ('sig1=("@method" "@target-uri");keyid="x";created=1', "sig1=:AAAA:", "", '"', "a=(", "sig1=?0",
     "hs2019", "rsa-sha256", "(request-target) host date digest", "SHA-256=AAAA")))
