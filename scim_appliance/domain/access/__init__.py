"""Who may call the SCIM API: the Secret Token (signed, hashed, compared in constant
time) and the sync switch, both kept in `appliance_state`. Imports `protocol` (errors),
`query` (prepared reads) and `storage`."""
