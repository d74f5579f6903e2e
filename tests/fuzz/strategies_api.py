"""Hypothesis strategies for the JSON API and roster imports, built on ``strategies.py``.

Extend here: a new API route is one more entry in ``api_calls`` (its path and a body strategy);
a new import format one more strategy beside ``roster_csv``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fuzz.strategies import (
    Target,
    deep_values,
    edge_numbers,
    edge_text,
    encode,
    huge_text,
    json_values,
    mangle,
    mutate,
)
from hypothesis import strategies as st

# -- API calls -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ApiCall:
    method: str
    path: str  # already percent-encoded
    body: bytes | None
    who: str  # whose token: facilitator, member, outsider; or none, bad, latin1, basic, empty, long


def segment(text: str) -> str:
    """A path segment percent-encoded from any text (lone surrogates as their surrogatepass bytes)."""
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


def path_ids(t: Target) -> st.SearchStrategy[str]:
    """What may stand where a numeric id goes: real ids, unknown ones, ids beyond 64 bits, digits
    that are not ASCII, signs, exponents, padding."""
    real = [str(pid) for pid in t.proposals.values()]
    odd = ["0", "999999", str(2**63 - 1), str(2**63), str(2**64), "9" * 30, "9" * 5000, "-1", "+1", "01",
           "1e3", "١", "٣٣", "¹", "½", "1 ", " 1", "1.0", "0x10", "", "abc", "1%00"]
    known = st.sampled_from(real)
    return st.one_of(known, known, known, st.sampled_from(odd).map(segment), edge_text.map(segment))


def names(t: Target) -> st.SearchStrategy[str]:
    """Group names: the real one, unknown ones, reserved words, any text."""
    odd = st.sampled_from(("nobody", "api", "ns", t.people[0] if t.people else "x", "BARRIO"))
    return st.one_of(st.just(t.group), st.just(t.group), st.just(t.group), odd, edge_text.map(segment))


def _json_body(values: st.SearchStrategy[Any]) -> st.SearchStrategy[bytes | None]:
    """A body from ``values``: JSON most often, sometimes mangled bytes, sometimes none."""
    @st.composite
    def body(draw: st.DrawFn) -> bytes | None:
        # Hypothesis starts from (and shrinks towards) 0: a JSON body.
        how = draw(st.integers(0, 5))
        if how == 5:
            return draw(st.sampled_from((None, b"")))
        encoded = _safe_encode(draw(values), draw(st.booleans()))
        return mangle(draw, encoded) if how == 4 else encoded

    return body()


def _safe_encode(value: Any, ascii_only: bool) -> bytes:
    try:
        return encode(value, ascii_only)
    except (RecursionError, ValueError):
        return b"[" * 2000 + b"]" * 2000


def _near(valid: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[Any]:
    """Valid bodies, the same mutated, and anything at all."""

    @st.composite
    def near(draw: st.DrawFn) -> Any:
        how = draw(st.integers(0, 5))
        if how < 2:
            return draw(valid)
        if how < 4:
            return mutate(draw, draw(valid))
        return draw(json_values if how == 4 else deep_values)

    return near()


# Each body strategy draws what a client really sends; ``_near`` adds the mutated and the hostile.

def proposal_bodies(t: Target) -> st.SearchStrategy[Any]:
    odd_times = ("2000-01-01T00:00:00Z", "2099-01-01", "9999-12-31T23:59:59Z", "2099-13-01T00:00:00Z")
    valid = st.fixed_dictionaries(
        {"title": st.sampled_from(("Repaint?", "¿Pintamos? 🎨")),
         "method": st.sampled_from(("single", "approval", "yesno", "ranked", "score")),
         "closes_at": st.sampled_from(("2099-01-01T00:00:00Z", "2099-01-01T00:00:00+02:00", *odd_times))},
        optional={
            "content": st.sampled_from(("", "<p>Which colour?</p>")),
            "options": st.lists(st.sampled_from(("green", "blue", "red", "yes", "no", "abstain")),
                                max_size=4),
            "rule": st.fixed_dictionaries({}, optional={
                "threshold": st.sampled_from(("plurality", "majority", "2/3", "0.5", "1/0", "-1")),
                "quorum": st.sampled_from((0, 0.5, "1/2", "3/2", -1, "1e999", 2**70))}),
            "area": st.sampled_from(("housing", "parks")), "status_quo": st.booleans(),
            "kind": st.sampled_from(("proposal", "recall")),
        },
    )
    return _near(valid)


def ballot_bodies(t: Target) -> st.SearchStrategy[Any]:
    option = st.sampled_from(t.all_options) if t.all_options else edge_text
    shapes = st.one_of(
        st.fixed_dictionaries({"choice": option}),
        st.fixed_dictionaries({"choices": st.lists(option, max_size=5)}),
        st.fixed_dictionaries({"ranking": st.lists(option, max_size=5)}),
        st.fixed_dictionaries({"scores": st.dictionaries(option, st.integers(-2, 12) | edge_numbers,
                                                         max_size=4)}),
    )
    return _near(st.tuples(shapes, st.none() | edge_text).map(
        lambda ballot_reason: ballot_reason[0] if ballot_reason[1] is None
        else {**ballot_reason[0], "reason": ballot_reason[1]}))


def member_bodies(t: Target) -> st.SearchStrategy[Any]:
    who = st.sampled_from((
        *(t.people[1:]), *(t.actor_id(m) for m in t.strangers),
        *(f"@{m}@{t.remote_host}" for m in t.strangers),
        t.actor_id("nobody"), f"@nobody@{t.remote_host}", f"{t.base}/groups/{t.group}", "@x@127.0.0.1:1",
        "acct:x@y.invalid", "http://127.0.0.1:1/users/x",
    ))
    return _near(st.fixed_dictionaries({"who": who}, optional={"facilitator": st.booleans()}))


def settings_bodies(t: Target) -> st.SearchStrategy[Any]:
    return _near(st.fixed_dictionaries({}, optional={
        "ballots": st.sampled_from(("public", "members", "hidden")),
        "roster": st.sampled_from(("public", "members")),
        "vote_receipts": st.sampled_from((True, False, "on", "off")),
    }))


def delegation_bodies(t: Target) -> st.SearchStrategy[Any]:
    delegate = st.sampled_from((*(t.people[1:]), *(f"@{m}@{t.remote_host}" for m in t.members),
                                *(t.actor_id(m) for m in t.members), None, "nobody"))
    proposal = st.sampled_from(list(t.proposals.values())) | path_ids(t) | st.sampled_from(
        ("¹", "٣", str(2**64), 2**64, -1, 1.5))
    return _near(st.fixed_dictionaries({"delegate": delegate}, optional={
        "area": st.sampled_from(("housing", "  parks  ", "x" * 101)), "proposal": proposal}))


def follow_bodies(t: Target) -> st.SearchStrategy[Any]:
    # Only targets that answer or fail at once: the loopback server, a closed port, no such name.
    target = st.sampled_from((*(t.actor_id(m) for m in t.members), f"@{t.members[0]}@{t.remote_host}",
                              t.actor_id("nobody"), "http://127.0.0.1:1/users/x", "@x@y.invalid",
                              f"{t.base}/groups/{t.group}", "ftp://x/y", "http://[::1", "@@"))
    return _near(st.fixed_dictionaries({"target": target}))


def content_bodies(t: Target) -> st.SearchStrategy[Any]:
    return _near(st.fixed_dictionaries({"content": edge_text | huge_text.map(lambda s: s[:200_000])}))


def _query(name: str, values: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(st.just(""), values.map(lambda v: f"?{name}={segment(v)}"))


def api_calls(t: Target) -> st.SearchStrategy[ApiCall]:
    """A call to any JSON API route (and the ActivityPub and discovery GETs), with a body that fits:
    the route first, then only what it needs."""
    pid, name = path_ids(t), names(t)
    ids = st.sampled_from([str(v) for v in t.proposals.values()]) | edge_text
    leaf = st.sampled_from(("0" * 64, "f" * 64, "F" * 64, "0" * 63, "g" * 64))
    member = st.sampled_from((*(t.people[1:]), f"@{t.members[0]}@{t.remote_host}", "nobody")) | edge_text.map(
        segment)
    any_segment = edge_text.map(segment)
    query_proposal = ids | st.sampled_from(("9" * 30, "٣", "¹", "²", "-1", "1e3", str(2**64), "9" * 5000))
    resource = edge_text | st.sampled_from(
        (f"acct:{t.group}@{t.base.split('://', 1)[1]}", "acct:", "acct:@", t.group_url))

    def route(method: str, template: str, body: st.SearchStrategy[Any] | None = None,
              **parts: st.SearchStrategy[str]) -> st.SearchStrategy[tuple[str, str, bytes | None]]:
        path = st.fixed_dictionaries(parts).map(lambda values: template.format(**values))
        payload = _json_body(body) if body is not None else st.none()
        return st.tuples(st.just(method), path, payload)

    routes = [
        route("GET", "/api/v1/me"),
        route("POST", "/api/v1/follows", follow_bodies(t)),
        route("DELETE", "/api/v1/follows{q}", q=_query("target", edge_text)),
        route("POST", "/api/v1/groups/{name}/announcements", content_bodies(t), name=name),
        route("POST", "/api/v1/groups/{name}/proposals", proposal_bodies(t), name=name),
        route("GET", "/api/v1/groups/{name}/proposals{q}", name=name, q=_query("state", edge_text)),
        route("GET", "/api/v1/proposals/{id}", id=pid),
        route("DELETE", "/api/v1/proposals/{id}", id=pid),
        route("POST", "/api/v1/proposals/{id}/ballots", ballot_bodies(t), id=pid),
        route("POST", "/api/v1/proposals/{id}/ballots", ballot_bodies(t), id=pid),
        route("GET", "/api/v1/proposals/{id}/receipt", id=pid),
        route("GET", "/proposals/{id}", id=pid),
        route("GET", "/proposals/{id}/decision", id=pid),
        route("GET", "/proposals/{id}/ballots", id=pid),
        route("GET", "/proposals/{id}/receipts/{leaf}", id=pid, leaf=leaf),
        route("GET", "/groups/{name}/members{q}", name=name, q=_query("page", ids)),
        route("GET", "/api/v1/groups/{name}/members", name=name),
        route("POST", "/api/v1/groups/{name}/members", member_bodies(t), name=name),
        route("DELETE", "/api/v1/groups/{name}/members/{who}", name=name, who=member),
        route("PATCH", "/api/v1/groups/{name}", settings_bodies(t), name=name),
        route("GET", "/api/v1/groups/{name}/delegation", name=name),
        route("PUT", "/api/v1/groups/{name}/delegation", delegation_bodies(t), name=name),
        route("DELETE", "/api/v1/groups/{name}/delegation{q}", name=name,
              q=st.one_of(_query("proposal", query_proposal), _query("area", edge_text))),
        route("GET", "/groups/{name}{q}", name=name, q=_query("page", ids)),
        route("GET", "/groups/{name}/outbox{q}", name=name, q=_query("page", ids | st.just("9" * 5000))),
        route("GET", "/groups/{name}/followers{q}", name=name, q=_query("page", ids)),
        route("GET", "/.well-known/webfinger{q}", q=_query("resource", resource)),
        route("GET", "/nodeinfo/{v}", v=any_segment | st.just("2.1")),
        route("GET", "/objects/{id}", id=any_segment),
        route("GET", "/activities/{id}", id=any_segment),
    ]
    who = st.sampled_from(("facilitator",) * 6 + ("member", "member", "outsider", "none", "bad", "latin1",
                                                  "basic", "empty", "long"))
    return st.tuples(st.one_of(routes), who).map(lambda r: ApiCall(r[0][0], r[0][1], r[0][2], r[1]))


# -- roster CSVs ---------------------------------------------------------------------------------

def _csv_cell(text: str) -> str:
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"\r\n') else text


@st.composite
def roster_csv(draw: st.DrawFn, t: Target, local_names: tuple[str, ...]) -> str:
    """A roster spreadsheet: a header (right, odd or wrong) and rows of local names and actors."""
    header = draw(st.sampled_from(("name,actor", "name", "Name, Actor ", "\ufeffname,actor", "actor,name",
                                   "name,actor,extra", "", "name;actor")) | edge_text)
    width = max(len(header.split(",")), 1)
    actor = st.sampled_from((*(t.actor_id(m) for m in t.members),
                             *(f"@{m}@{t.remote_host}" for m in t.members),
                             t.actor_id("nobody"), f"{t.base}/people/{local_names[0]}", t.group_url,
                             "http://127.0.0.1:1/users/x", "@x@y.invalid", "not an actor", "")) | edge_text
    name = st.sampled_from((*local_names, "Bad Name", "api", "", "x" * 31)) | edge_text
    row = st.one_of(
        st.tuples(name, actor).map(lambda r: ",".join(map(_csv_cell, r))),
        name.map(_csv_cell),
        st.lists(edge_text.map(_csv_cell), max_size=width + 1).map(",".join),
        st.sampled_from(("", ",", '"unclosed', "a\x00b,", "x" * 140_000, "\r", "\n\n")),
    )
    rows = draw(st.lists(row, max_size=8))
    newline = draw(st.sampled_from(("\n", "\r\n", "\r")))
    return newline.join([header, *rows]) + draw(st.sampled_from(("", newline)))
