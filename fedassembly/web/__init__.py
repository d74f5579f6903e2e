"""HTTP: ActivityPub documents, discovery, inboxes, the JSON API and HTML pages."""
