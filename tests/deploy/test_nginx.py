"""deploy/nginx/scim-appliance.conf passes `nginx -t` with a test certificate, and
says nothing nginx would warn about."""

from __future__ import annotations

import re

from tests.deploy.nginx_proxy import SITE, RunningNginx


def test_nginx_accepts_the_site():
    nginx = RunningNginx(upstream_port=8080)
    try:
        proc = nginx.test_config()
        output = proc.stdout + proc.stderr + nginx.error_log()
    finally:
        nginx.cleanup()
    assert proc.returncode == 0, output
    assert "syntax is ok" in output and "test is successful" in output
    assert "[warn]" not in output and "[emerg]" not in output, output


def test_the_body_limit_is_the_appliances():
    """client_max_body_size and MAX_CONTENT_LENGTH must refuse the same bodies."""
    from scim_appliance.config import DEFAULTS

    size = re.search(r"^\s*client_max_body_size (\d+)m;", SITE.read_text(), re.M)
    assert size is not None
    assert int(size.group(1)) * 1024 * 1024 == DEFAULTS["MAX_CONTENT_LENGTH"]


def test_the_token_shape_the_site_exempts_is_the_appliances():
    """The map lets a request through unlimited only when it carries something shaped
    like a Secret Token: check the pattern against a real one and near misses."""
    from scim_appliance.domain.access import tokens

    pattern = re.search(r'"~\*(\^Bearer [^"]+)" "";', SITE.read_text()).group(1)
    shaped = re.compile(pattern, re.IGNORECASE)
    token = tokens.new_token("a-secret-key")
    assert shaped.match(f"Bearer {token}")
    assert shaped.match(f"bearer {token}")  # the scheme is case-insensitive (RFC 9110 §11.1)
    for value in ("", "Basic dXNlcjpwYXNz", "Bearer", "Bearer garbage",
                  f"Bearer {token} extra", f"Token {token}", f"Bearer {token[8:]}"):
        assert not shaped.match(value), value
