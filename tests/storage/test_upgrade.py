"""A database an older release wrote (tests/fixtures/schema3.sqlite3) migrates to the current
schema and everything in it reads back through today's repositories."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

from storage import actors as actor_repo
from storage import ballots as ballot_repo
from storage import blocks as block_repo
from storage import delegations as delegation_repo
from storage import deliveries as delivery_repo
from storage import follows as follow_repo
from storage import members as member_repo
from storage import proposals as proposal_repo
from storage import tokens as token_repo
from storage.db import Database
from storage.migrate import load_migrations, migrate, schema_version

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "schema3.sqlite3"
BASE = "https://assembly.example"
RITA = "http://127.0.0.1:60759/users/rita"
ANA_TOKEN = "fa_xThymVbhSzFLhHVAYzxUQSo7h-8gm7rBRXVvJBd-iy0"


async def test_the_schema_3_fixture_migrates_and_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "fedassembly.sqlite3"
    shutil.copyfile(FIXTURE, path)
    with sqlite3.connect(path) as plain:
        assert plain.execute("PRAGMA user_version").fetchone()[0] == 3
    db = await Database.open(path)
    try:
        assert await migrate(db) == load_migrations()[-1].version
        assert await schema_version(db.reader) == load_migrations()[-1].version
        reader = db.reader
        barrio = await actor_repo.get_actor_by_name(reader, "barrio")
        ana = await actor_repo.get_actor_by_name(reader, "ana")
        ben = await actor_repo.get_actor_by_name(reader, "ben")
        assert barrio is not None and ana is not None and ben is not None
        assert (barrio.kind, barrio.title) == ("assembly", "Asamblea Barrio Norte")
        assert (await actor_repo.get_instance_actor(reader)) is not None
        for kind in ("rsa", "ed25519"):
            assert await actor_repo.get_key(reader, barrio.id, kind) is not None

        roster = {(m.member, m.facilitator) for m in await member_repo.list_members(reader, barrio.id)}
        assert roster == {(f"{BASE}/people/ana", True), (f"{BASE}/people/ben", False), (RITA, False)}
        assert [f.follower for f in await follow_repo.list_followers(reader, barrio.id)] == [RITA]

        digest = hashlib.sha256(ANA_TOKEN.encode()).hexdigest()
        assert await token_repo.get_actor_id_by_token_hash(reader, digest) == ana.id
        # Numbered by the upgrade in the order they were made.
        [ana_token] = await token_repo.list_tokens(reader, ana.id)
        [ben_token] = await token_repo.list_tokens(reader, ben.id)
        assert (ana_token.id, ana_token.prefix) == (1, ANA_TOKEN[:10])
        assert (ben_token.id, ben_token.prefix) == (2, "fa_C43A3qb")

        [delegation] = await delegation_repo.list_delegations(reader, barrio.id)
        assert (delegation.delegator, delegation.scope, delegation.delegate) == (
            f"{BASE}/people/ben", "area", f"{BASE}/people/ana"
        )

        paint = await proposal_repo.get_proposal_by_id(reader, 1)
        sundays = await proposal_repo.get_proposal_by_id(reader, 2)
        assert paint is not None and sundays is not None
        assert (paint.title, paint.state, paint.area) == ("Paint the hall", "open", "hall")
        assert (sundays.title, sundays.state) == ("Open on Sundays?", "decided")
        assert sundays.decision is not None
        decision = json.loads(sundays.decision)
        assert decision["type"] == "fa:Decision" and "proof" in decision
        assert decision["fa:outcome"] == {"status": "decided", "winners": ["yes"], "passed": True}
        leaves = [(b.voter, b.ballot, b.source) for b in await ballot_repo.list_ballots(reader, 1)]
        assert leaves == [
            (f"{BASE}/people/ana", {"choice": "green"}, "api"),
            (f"{BASE}/people/ben", {"choice": "blue"}, "api"),
            (f"{BASE}/people/ana", {"choice": "blue"}, "api"),
            (RITA, {"choice": "green"}, "activitypub"),
        ]
        assert await ballot_repo.list_latest_ballots(reader, 2) == {
            f"{BASE}/people/ana": {"choice": "yes"}, f"{BASE}/people/ben": {"choice": "yes"}
        }
        assert [(voter, reason) for voter, reason, _ in await ballot_repo.list_vote_replies(reader, 1)] == [
            (RITA, "accepted")
        ]
        assert await delivery_repo.count_deliveries(reader) == delivery_repo.DeliveryCounts(1, 0)
        assert await block_repo.list_blocks(reader) == []
        assert await db.integrity_check() == "ok"
    finally:
        await db.close()
