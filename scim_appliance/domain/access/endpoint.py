"""The Tenant URL an administrator hands Entra, and what to say when Entra would
refuse it. The CLI (`endpoint`, `token issue`) and the console's SCIM page share it."""

from __future__ import annotations

# Entra's provisioning accepts only a public HTTPS Tenant URL ("Develop and plan
# provisioning for a SCIM endpoint in Microsoft Entra ID", Microsoft Learn).
HTTPS_ADVICE = ("Entra needs a public HTTPS Tenant URL: put the appliance behind a "
                "TLS-terminating reverse proxy and set PUBLIC_URL (README, 'Running it in "
                "production').")
# Appended to the Tenant URL, it makes Entra send the 2020 SCIM behaviour (PATCH without
# a path for many attributes, booleans as booleans; Microsoft Learn, "Known issues and
# resolutions with SCIM 2.0 protocol compliance").
AAD_OPT_FLAG = "aadOptscim062020"


def tenant_url(public_url: str | None, fallback_root: str) -> str:
    """PUBLIC_URL when set, else the address the appliance was reached at, + /scim."""
    root = public_url or fallback_root
    return root.rstrip("/") + "/scim"


def with_aad_flag(url: str) -> str:
    return f"{url}?{AAD_OPT_FLAG}"


def https_advice(url: str) -> str | None:
    """What to tell an operator whose Tenant URL Entra will not accept."""
    if url.startswith("https://"):
        return None
    return HTTPS_ADVICE
