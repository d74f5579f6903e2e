"""What must hold after a crash loop, read from the node's SQLite file and the loopback receivers.

"Acknowledged" is what the load generator's ledger says the node answered; anything it sent
without an answer may or may not be present, but never half-present. Receivers deduplicate by
activity id as real servers do (``RemoteServer.applied``): "exactly once" is after that dedupe.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from typing import Any

from fedassembly.governance import ballot_log

from .crash_load import Ledger
from .recount import decision_values, recount
from .remote import RemoteServer

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def database_is_sound(db: sqlite3.Connection) -> None:
    """SQLite's own checks pass and the delivery queue is empty: nothing pending, nothing dead."""
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    assert db.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0] == 0


def ballot_logs_are_whole(db: sqlite3.Connection, base: str) -> None:
    """Each proposal's leaves are numbered 0..n-1 without a gap, each hash over its own row."""
    by_proposal: dict[int, list[int]] = {}
    rows = db.execute("SELECT proposal_id, seq, voter, ballot, received_at, leaf_hash FROM ballots"
                      " ORDER BY proposal_id, seq")
    for proposal_id, seq, voter, ballot, received_at, leaf_hash in rows:
        url = f"{base}/proposals/{proposal_id}"
        raw = ballot_log.leaf_bytes(url, voter, json.loads(ballot), seq, received_at)
        assert ballot_log.leaf_hash(raw).hex() == leaf_hash, (proposal_id, seq)
        by_proposal.setdefault(proposal_id, []).append(seq)
    for proposal_id, seqs in by_proposal.items():
        assert seqs == list(range(len(seqs))), f"proposal {proposal_id}'s log has gaps"


def votes_counted_once(db: sqlite3.Connection, ledger: Ledger, closing: int, closes_at: float) -> None:
    """Every remote vote was answered in the end, its activity recorded, and its Note is one leaf
    or one refusal (closed), never both: a leaf when answered before the close, a refusal when
    first sent after it."""
    leaves = Counter(row[0] for row in db.execute(
        "SELECT activity_id FROM ballots WHERE source = 'activitypub'"))
    refused = Counter(row[0] for row in db.execute("SELECT activity_id FROM refused_ballots"))
    reasons = {row[0] for row in db.execute("SELECT reason FROM refused_ballots")}
    assert reasons <= {"closed"}, reasons
    recorded = {row[0] for row in db.execute("SELECT id FROM inbox_activities WHERE type = 'Create'")}
    for vote in ledger.votes:
        assert vote.acked_at is not None and vote.first_sent is not None, f"{vote.note_id} never answered"
        assert vote.activity_id in recorded, f"{vote.activity_id} acknowledged but not recorded"
        counted, refusals = leaves[vote.note_id], refused[vote.note_id]
        assert (counted, refusals) in ((1, 0), (0, 1)), (vote.note_id, counted, refusals)
        if vote.proposal_id != closing or vote.acked_at < closes_at:
            assert counted == 1, f"{vote.note_id} acknowledged while open but not counted"
        elif vote.first_sent > closes_at:
            assert refusals == 1, f"{vote.note_id} sent after the close but counted"
    assert set(leaves) | set(refused) <= {vote.note_id for vote in ledger.votes}
    missing = [note for note in ledger.notes if note not in recorded]
    assert not missing, f"activities without effect acknowledged but not recorded: {missing[:3]}"


def api_ballots_counted_once(db: sqlite3.Connection, ledger: Ledger, closing: int, closes_at: float) -> None:
    """Each acknowledged API ballot is exactly one leaf, with what was sent; per member and
    proposal there are no fewer leaves than acknowledged ballots and no more than those plus the
    unanswered ones; a ballot is refused (409) only once the proposal has closed."""
    rows: Counter[tuple[int, str]] = Counter()
    content: dict[tuple[int, str], tuple[str, Any]] = {}
    per_voter: Counter[tuple[int, str]] = Counter()
    for proposal_id, voter, ballot, leaf_hash in db.execute(
        "SELECT proposal_id, voter, ballot, leaf_hash FROM ballots WHERE source = 'api'"
    ):
        rows[(proposal_id, leaf_hash)] += 1
        content[(proposal_id, leaf_hash)] = (voter, json.loads(ballot))
        per_voter[(proposal_id, voter)] += 1
    acked: Counter[tuple[int, str]] = Counter()
    unanswered: Counter[tuple[int, str]] = Counter()
    for ballot in ledger.ballots:
        key = (ballot.proposal_id, ballot.voter)
        if ballot.status is None:
            unanswered[key] += 1
            continue
        if ballot.proposal_id != closing or ballot.ended < closes_at:
            assert ballot.status == 201, f"a ballot answered while open was refused: {ballot}"
        elif ballot.started > closes_at:
            assert ballot.status == 409, f"a ballot sent after the close was accepted: {ballot}"
        if ballot.status == 201:
            assert ballot.leaf_hash is not None
            acked[key] += 1
            leaf = (ballot.proposal_id, ballot.leaf_hash)
            assert rows[leaf] == 1, f"acknowledged ballot {leaf} is stored {rows[leaf]} times"
            assert content[leaf] == (ballot.voter, {"choice": ballot.choice})
    for key in set(per_voter) | set(acked):
        assert acked[key] <= per_voter[key] <= acked[key] + unanswered[key], (key, per_voter[key])


def replies_follow_ballots(db: sqlite3.Connection) -> None:
    """A voter with a fediverse leaf has its one receipt reply, a refused voter its one refusal
    reply, each queued as a stored Create; and no reply without its ballot."""
    replies = {(p, voter, reason): reply for p, voter, reason, reply in
               db.execute("SELECT proposal_id, voter, reason, reply_id FROM vote_replies")}
    voted = set(db.execute("SELECT DISTINCT proposal_id, voter FROM ballots WHERE source = 'activitypub'"))
    refused = set(db.execute("SELECT DISTINCT proposal_id, voter, reason FROM refused_ballots"))
    assert {(p, voter, "accepted") for p, voter in voted} | refused == set(replies)
    created = set()
    for (body,) in db.execute("SELECT body FROM outbox_activities WHERE type = 'Create'"):
        obj = json.loads(body)["object"]
        created.add(obj["id"] if isinstance(obj, dict) else obj)
    assert set(replies.values()) <= created


def poll_updates_follow_ballots(db: sqlite3.Connection, base: str) -> None:
    """No count update is lost: each proposal's last Update(Question) is no older than its last ballot."""
    last_update: dict[str, str] = {}
    for published_at, body in db.execute(
        "SELECT published_at, body FROM outbox_activities WHERE type = 'Update' ORDER BY seq"
    ):
        obj = json.loads(body)["object"]
        if isinstance(obj, dict) and obj.get("type") == "Question":
            last_update[obj["id"]] = published_at
    latest = db.execute("SELECT proposal_id, MAX(received_at) FROM ballots GROUP BY proposal_id")
    for proposal_id, received_at in latest:
        url = f"{base}/proposals/{proposal_id}"
        assert last_update.get(url, "") >= received_at, (url, last_update.get(url), received_at)


def delegations_as_acknowledged(db: sqlite3.Connection, ledger: Ledger) -> None:
    """Each member's global delegation is the last acknowledged one, or one sent after it unanswered."""
    stored = {delegator: delegate for delegator, delegate in
              db.execute("SELECT delegator, delegate FROM delegations WHERE scope = 'global'")}
    allowed: dict[str, set[str | None]] = {}
    for put in ledger.delegations:  # one worker per member: in the order sent
        if put.acked:
            allowed[put.delegator] = {put.delegate}
        else:
            allowed.setdefault(put.delegator, {None}).add(put.delegate)
    for delegator, values in allowed.items():
        assert stored.get(delegator) in values, (delegator, stored.get(delegator), values)
    assert set(stored) <= set(allowed)


def _outbox(db: sqlite3.Connection) -> list[dict[str, Any]]:
    return [json.loads(body) for (body,) in db.execute("SELECT body FROM outbox_activities ORDER BY seq")]


def _is_closed_update(activity: dict[str, Any], url: str) -> bool:
    obj = activity.get("object")
    return (activity.get("type") == "Update" and isinstance(obj, dict) and obj.get("id") == url
            and "closed" in obj)


def _is_announcement(activity: dict[str, Any], url: str) -> bool:
    obj = activity.get("object")
    return (activity.get("type") == "Create" and isinstance(obj, dict) and obj.get("inReplyTo") == url
            and PUBLIC in _as_list(obj.get("to")))


def closed_once(
    db: sqlite3.Connection, base: str, closing: int, decision: dict[str, Any], page: dict[str, Any]
) -> None:
    """One decision, one closed Update, one announcement; the decision recounts from its page,
    whose leaves are every leaf of the proposal."""
    state, stored = db.execute("SELECT state, decision FROM proposals WHERE id = ?", (closing,)).fetchone()
    assert state == "decided" and json.loads(stored) == decision
    url = f"{base}/proposals/{closing}"
    outbox = _outbox(db)
    assert len([a for a in outbox if _is_closed_update(a, url)]) == 1
    assert len([a for a in outbox if _is_announcement(a, url)]) == 1
    assert recount(page, closing) == decision_values(decision)
    leaves = [tuple(row) for row in
              db.execute("SELECT seq, leaf_hash FROM ballots WHERE proposal_id = ? ORDER BY seq", (closing,))]
    assert [(leaf["seq"], leaf["leaf_hash"]) for leaf in page["leaves"]] == leaves


def deliveries_arrived(db: sqlite3.Connection, servers: list[RemoteServer]) -> None:
    """Every activity the node published reached every server it addresses (followers: all of
    them, since each has some) at least once."""
    arrived = {server.base: {str(a.get("id")) for a in server.accepted} for server in servers}
    for activity in _outbox(db):
        expected = set()
        for recipient in _as_list(activity.get("to")) + _as_list(activity.get("cc")):
            if recipient.endswith("/followers"):
                expected |= set(arrived)
            expected |= {server.base for server in servers if recipient.startswith(server.base + "/")}
        assert expected, f"{activity['id']} addresses no receiver"
        missing = [host for host in expected if activity["id"] not in arrived[host]]
        assert not missing, f"{activity['type']} {activity['id']} never reached {missing}"


def receivers_applied_close_once(servers: list[RemoteServer], base: str, closing: int) -> None:
    """After its dedupe, each follower server applied one closed Update and one announcement."""
    url = f"{base}/proposals/{closing}"
    for server in servers:
        applied = server.applied().values()
        assert len([a for a in applied if _is_closed_update(a, url)]) == 1, server.base
        assert len([a for a in applied if _is_announcement(a, url)]) == 1, server.base


def receipts_once(db: sqlite3.Connection, servers: list[RemoteServer], base: str) -> None:
    """After dedupe, each voter got exactly one receipt per proposal it has a fediverse leaf on,
    and exactly one refusal per proposal that refused it; nobody else got one."""
    expected: Counter[tuple[str, str, str | None]] = Counter()
    voted = db.execute("SELECT DISTINCT proposal_id, voter FROM ballots WHERE source = 'activitypub'")
    for p, voter in voted:
        expected[(f"{base}/proposals/{p}", voter, None)] = 1
    for p, voter, reason in db.execute("SELECT DISTINCT proposal_id, voter, reason FROM refused_ballots"):
        expected[(f"{base}/proposals/{p}", voter, reason)] = 1
    got: Counter[tuple[str, str, str | None]] = Counter()
    for server in servers:
        for activity in server.applied().values():
            obj = activity.get("object")
            if activity.get("type") != "Create" or not isinstance(obj, dict):
                continue
            if PUBLIC in _as_list(obj.get("to")):
                continue
            if isinstance(obj.get("inReplyTo"), str) and obj["inReplyTo"].startswith(f"{base}/proposals/"):
                [voter] = obj["to"]
                got[(obj["inReplyTo"], voter, obj.get("fa:reason"))] += 1
    assert got == expected


def redeliveries(server: RemoteServer) -> int:
    """How many activity ids arrived at ``server`` more than once (at-least-once at work)."""
    return sum(1 for count in Counter(str(a.get("id")) for a in server.received).values() if count > 1)
