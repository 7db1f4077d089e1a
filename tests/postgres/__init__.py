"""PostgreSQL as a first-class backend: several nodes, concurrent writes, restarts."""
