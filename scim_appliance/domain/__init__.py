"""The provisioning domain: everything the appliance knows about SCIM, names, the log
and its administrator, with no Flask and no HTTP. It may import `storage` and its own
packages; the CLI, the console and the SCIM routes call it."""
