"""The provisioning log: request facts described as entries, failure kinds and their
advice, storing, listing and pruning entries. Imports `protocol` and `storage`."""
