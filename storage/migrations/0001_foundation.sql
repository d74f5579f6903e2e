-- Local actors: assemblies and councils (Group), people (Person), the instance actor.
CREATE TABLE local_actors (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('assembly', 'council', 'person', 'instance')),
    title TEXT NOT NULL DEFAULT '',
    summary TEXT NOT NULL DEFAULT '',
    settings TEXT NOT NULL DEFAULT '{}',
    password_hash TEXT,
    created_at TEXT NOT NULL
);

-- Private keys of local actors: RSA-2048 for HTTP signatures, Ed25519 for object proofs.
CREATE TABLE actor_keys (
    actor_id INTEGER NOT NULL REFERENCES local_actors (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('rsa', 'ed25519')),
    private_pem TEXT NOT NULL,
    public_pem TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (actor_id, kind)
);

-- Remote actors seen (their documents, where to deliver to them) and their keys.
CREATE TABLE remote_actors (
    id TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    type TEXT NOT NULL,
    preferred_username TEXT,
    inbox TEXT NOT NULL,
    shared_inbox TEXT,
    document TEXT NOT NULL,
    fetched_at REAL NOT NULL
);

CREATE TABLE remote_keys (
    key_id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    public_pem TEXT NOT NULL,
    fetched_at REAL NOT NULL
);
CREATE INDEX remote_keys_owner ON remote_keys (owner);

-- Who follows a local group (or person), and which remote actors local people follow.
CREATE TABLE followers (
    actor_id INTEGER NOT NULL REFERENCES local_actors (id) ON DELETE CASCADE,
    follower TEXT NOT NULL,
    follow_id TEXT NOT NULL,
    inbox TEXT NOT NULL,
    shared_inbox TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (actor_id, follower)
);
CREATE INDEX followers_follower ON followers (follower);

CREATE TABLE following (
    actor_id INTEGER NOT NULL REFERENCES local_actors (id) ON DELETE CASCADE,
    target TEXT NOT NULL,
    follow_id TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL CHECK (state IN ('pending', 'accepted')),
    created_at TEXT NOT NULL,
    PRIMARY KEY (actor_id, target)
);

-- Every verified incoming activity, deduplicated by id, kept at least 7 days.
CREATE TABLE inbox_activities (
    id TEXT PRIMARY KEY,
    actor TEXT NOT NULL,
    type TEXT NOT NULL,
    body TEXT NOT NULL,
    received_at REAL NOT NULL
);
CREATE INDEX inbox_activities_received ON inbox_activities (received_at);

-- What local actors published: activities and the objects they carry, served at their ids.
CREATE TABLE outbox_activities (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    actor_id INTEGER NOT NULL REFERENCES local_actors (id) ON DELETE CASCADE,
    type TEXT NOT NULL,
    public INTEGER NOT NULL,
    body TEXT NOT NULL,
    published_at TEXT NOT NULL
);
CREATE INDEX outbox_activities_actor ON outbox_activities (actor_id, seq);

CREATE TABLE objects (
    id TEXT PRIMARY KEY,
    actor_id INTEGER NOT NULL REFERENCES local_actors (id) ON DELETE CASCADE,
    type TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- The durable delivery queue: one row per (activity, inbox), deleted after a 2xx.
CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY,
    activity_id TEXT NOT NULL,
    sender_id INTEGER NOT NULL REFERENCES local_actors (id) ON DELETE CASCADE,
    inbox TEXT NOT NULL,
    host TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    lease_until REAL NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at REAL NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at);
CREATE INDEX deliveries_host ON deliveries (host);

-- Hosts that keep failing are paused, never longer than their next scheduled retry.
CREATE TABLE delivery_hosts (
    host TEXT PRIMARY KEY,
    paused_until REAL NOT NULL,
    failures INTEGER NOT NULL,
    updated_at REAL NOT NULL
);

-- API bearer tokens of local people (only a hash is kept).
CREATE TABLE api_tokens (
    token_hash TEXT PRIMARY KEY,
    prefix TEXT NOT NULL,
    actor_id INTEGER NOT NULL REFERENCES local_actors (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    last_used_at TEXT
);
