"""Users and groups as stored resources: create, read, replace, PATCH and delete
(never committing), versions for ETags, rendering rows as SCIM JSON. Imports `protocol`,
`query`, `names` and `storage`."""
