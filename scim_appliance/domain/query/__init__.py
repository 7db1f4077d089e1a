"""Filters and listings answered by SQL: filter trees to clauses, the JSON SQL of each
dialect, where each attribute is stored, paging and sorting, prepared reads on the DBAPI
connection. Imports `protocol` and `storage`."""
