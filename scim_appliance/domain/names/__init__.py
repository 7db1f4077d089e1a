"""Names valid downstream (CloudSSO and the other presets): the rules and the sanitising
pipeline, the policy built from the configuration, derived names stored beside the
original, and the dry run over a file. Imports `protocol` and `storage`."""
