-- Deduplication per (id, actor): an id is spent only for the actor that sent it, so nobody can
-- spend another actor's ids by sending them first. An authenticated activity refused for its
-- ids (not on its signer's origin) is recorded too, with the reason in `refusal` and no effect.
CREATE TABLE inbox_activities_0004 (
    id TEXT NOT NULL,
    actor TEXT NOT NULL,
    type TEXT NOT NULL,
    body TEXT NOT NULL,
    received_at REAL NOT NULL,
    refusal TEXT,
    PRIMARY KEY (id, actor)
);
INSERT INTO inbox_activities_0004 (id, actor, type, body, received_at)
    SELECT id, actor, type, body, received_at FROM inbox_activities;
DROP TABLE inbox_activities;
ALTER TABLE inbox_activities_0004 RENAME TO inbox_activities;
CREATE INDEX inbox_activities_received ON inbox_activities (received_at);

-- A vote Note's id is unique per voter, not per proposal: another voter cannot make it "already
-- counted".
DROP INDEX ballots_activity;
CREATE UNIQUE INDEX ballots_activity ON ballots (proposal_id, voter, activity_id) WHERE activity_id IS NOT NULL;
