"""SQLite storage: connection, migrations, repositories. All SQL lives here."""
