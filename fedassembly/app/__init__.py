"""Use cases, ActivityPub mapping, inbox handlers and the adapters for federation's ports."""
