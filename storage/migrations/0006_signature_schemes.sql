-- The HTTP signature scheme each remote host is signed in first, as last learned: RFC 9421 for
-- hosts that signed it at our inbox or took it after refusing draft-cavage, draft-cavage for
-- hosts that refused RFC 9421. A choice is used for 30 days after learned_at, then forgotten.
CREATE TABLE signature_schemes (
    host TEXT PRIMARY KEY,
    scheme TEXT NOT NULL CHECK (scheme IN ('draft-cavage', 'rfc9421')),
    learned_at REAL NOT NULL
);
CREATE INDEX signature_schemes_learned ON signature_schemes (learned_at);
