-- Proposals: frozen at creation (method, options, threshold, quorum, area); a lifecycle state.
CREATE TABLE proposals (
    id INTEGER PRIMARY KEY,
    group_id INTEGER NOT NULL REFERENCES local_actors (id) ON DELETE CASCADE,
    kind TEXT NOT NULL DEFAULT 'proposal' CHECK (kind IN ('proposal', 'recall')),
    title TEXT NOT NULL,
    content TEXT NOT NULL,
    options TEXT NOT NULL,
    method TEXT NOT NULL,
    threshold TEXT NOT NULL,
    quorum TEXT NOT NULL,
    area TEXT,
    status_quo INTEGER NOT NULL DEFAULT 0,
    closes_at REAL NOT NULL,
    created_at TEXT NOT NULL,
    created_by INTEGER REFERENCES local_actors (id) ON DELETE SET NULL,
    state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'closed', 'decided', 'withdrawn')),
    closed_at TEXT,
    update_due_at REAL,
    decision TEXT,
    snapshot TEXT
);
CREATE INDEX proposals_open ON proposals (state, closes_at);
CREATE INDEX proposals_group ON proposals (group_id, id);
CREATE INDEX proposals_update_due ON proposals (update_due_at) WHERE update_due_at IS NOT NULL;

-- The ballot log: every accepted ballot is a leaf (seq = 0-based leaf index); the latest per
-- voter counts. A replaced ballot stays a leaf.
CREATE TABLE ballots (
    proposal_id INTEGER NOT NULL REFERENCES proposals (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    voter TEXT NOT NULL,
    ballot TEXT NOT NULL,
    received_at TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('api', 'activitypub')),
    activity_id TEXT,
    leaf_hash TEXT NOT NULL,
    PRIMARY KEY (proposal_id, seq)
);
CREATE INDEX ballots_voter ON ballots (proposal_id, voter, seq);
CREATE UNIQUE INDEX ballots_activity ON ballots (proposal_id, activity_id) WHERE activity_id IS NOT NULL;
CREATE INDEX ballots_leaf ON ballots (proposal_id, leaf_hash);

-- Refused fediverse votes, kept with their reason (not leaves, not counted).
CREATE TABLE refused_ballots (
    id INTEGER PRIMARY KEY,
    proposal_id INTEGER NOT NULL REFERENCES proposals (id) ON DELETE CASCADE,
    voter TEXT NOT NULL,
    reason TEXT NOT NULL CHECK (reason IN ('not_member', 'closed', 'unknown_option', 'wrong_method')),
    activity_id TEXT,
    note TEXT NOT NULL,
    received_at TEXT NOT NULL
);
CREATE INDEX refused_ballots_proposal ON refused_ballots (proposal_id, voter);

-- At most one reply per voter, proposal and reason (receipt replies use reason 'accepted').
CREATE TABLE vote_replies (
    proposal_id INTEGER NOT NULL REFERENCES proposals (id) ON DELETE CASCADE,
    voter TEXT NOT NULL,
    reason TEXT NOT NULL,
    reply_id TEXT NOT NULL,
    PRIMARY KEY (proposal_id, voter, reason)
);

-- Liquid delegation inside one group: scope global (scope_key ''), area (the area text) or
-- proposal (its id as text); delegate NULL is an explicit "no delegation in this scope".
CREATE TABLE delegations (
    group_id INTEGER NOT NULL REFERENCES local_actors (id) ON DELETE CASCADE,
    delegator TEXT NOT NULL,
    scope TEXT NOT NULL CHECK (scope IN ('global', 'area', 'proposal')),
    scope_key TEXT NOT NULL DEFAULT '',
    delegate TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (group_id, delegator, scope, scope_key)
);
CREATE INDEX delegations_delegate ON delegations (group_id, delegate);
