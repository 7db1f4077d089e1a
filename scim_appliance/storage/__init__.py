"""Storage: the tables, engine set-up (SQLite pragmas, the write gate), the Flask-SQLAlchemy
binding and the online backup. It imports nothing from `domain`, `scim`, `server` or `cli`:
everything else builds on it."""
