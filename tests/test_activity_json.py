"""activity_json writes exactly what json.dumps writes, with the context serialized once."""

from __future__ import annotations

import json

from fedassembly.app.activities import activity, activity_json
from fedassembly.app.vocab import CONTEXT


def test_same_bytes_as_json_dumps() -> None:
    reply = activity("https://n.example/activities/1", "Create", "https://n.example/groups/g",
                     {"type": "Note", "content": "your vote for “sí” is counted"}, to=["https://r.example/u"])
    for doc in (reply, {"@context": CONTEXT}, {"@context": list(CONTEXT), "id": "x"}, {"id": "x"}):
        assert activity_json(doc) == json.dumps(doc)
