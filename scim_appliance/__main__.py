"""`python -m scim_appliance` is the same CLI as the `scim-appliance` script."""

from .cli import main

main()
