"""An incoming X-Request-Id is kept only when the whole value is a plain id (issue 13, 19).

`re.match("^...$")` also accepts the id followed by a newline (`$` matches before a
final "\\n"); such a value must be replaced, never echoed into a response header.
"""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("incoming", ["nginx-4f2a9c81e7\n", "nginx-4f2a9c81e7\r\n",
                                      "abcdefgh\nX-Evil: 1", "nginx-4f2a9c81e7 "])
def test_an_id_with_anything_after_it_is_replaced(scim, incoming):
    resp = scim.get("/scim/Users", environ_overrides={"HTTP_X_REQUEST_ID": incoming})
    assert resp.status_code == 200
    assert resp.headers["X-Request-Id"] != incoming.strip()
    assert len(resp.headers["X-Request-Id"]) == 32


def test_a_plain_proxy_id_is_kept(scim):
    resp = scim.get("/scim/Users", environ_overrides={"HTTP_X_REQUEST_ID": "nginx-4f2a9c81e7"})
    assert resp.headers["X-Request-Id"] == "nginx-4f2a9c81e7"
