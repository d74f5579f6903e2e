-- API tokens get a stable number: `token list` shows it and `token revoke` accepts it. A table
-- whose key is not an INTEGER PRIMARY KEY may see its rowids renumbered by VACUUM, so the table
-- is rebuilt with one, numbering the existing tokens in the order they were made.
CREATE TABLE api_tokens_numbered (
    id INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    actor_id INTEGER NOT NULL REFERENCES local_actors (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    last_used_at TEXT
);
INSERT INTO api_tokens_numbered (token_hash, prefix, actor_id, created_at, last_used_at)
    SELECT token_hash, prefix, actor_id, created_at, last_used_at FROM api_tokens ORDER BY created_at, rowid;
DROP TABLE api_tokens;
ALTER TABLE api_tokens_numbered RENAME TO api_tokens;
CREATE INDEX api_tokens_actor ON api_tokens (actor_id, created_at);

-- Remote actors (their IRI) and domains (lower case, subdomains included) the inbox refuses.
CREATE TABLE blocks (
    target TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('actor', 'domain')),
    created_at TEXT NOT NULL
);

-- Moves with every change to blocks (in the same unit), so a node reloads its in-memory
-- block list only when this number changes.
CREATE TABLE blocks_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO blocks_version (id, version) VALUES (1, 0);
