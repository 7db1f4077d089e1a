"""The SCIM protocol itself (RFC 7643 schemas, RFC 7644 messages): attribute
definitions, validation, documents, the filter and path grammar, PATCH, projection and the
error types. Pure: it imports nothing outside this package but `domain.clock`."""
