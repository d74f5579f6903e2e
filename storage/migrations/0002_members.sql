-- Rosters: who is a member of a group (a local person or a remote actor), and who facilitates.
CREATE TABLE members (
    group_id INTEGER NOT NULL REFERENCES local_actors (id) ON DELETE CASCADE,
    member TEXT NOT NULL,
    local_actor_id INTEGER REFERENCES local_actors (id) ON DELETE CASCADE,
    facilitator INTEGER NOT NULL DEFAULT 0,
    added_at TEXT NOT NULL,
    PRIMARY KEY (group_id, member)
);
CREATE INDEX members_local ON members (local_actor_id);
CREATE INDEX members_member ON members (member);
