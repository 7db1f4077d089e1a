"""What a refused token tells the client, and what it tells the log (issue 13, 19).

On the wire a forged token and a replaced one get the same 401: who holds a token
must not learn whether it was ever valid here. The log and the email may tell them
apart (a replaced token means Entra holds an old one), so the reason travels on the
exception and `g`, never in the body.
"""

from __future__ import annotations

import pytest
from flask import g

from scim_appliance.domain.access import appliance, tokens
from scim_appliance.domain.query.direct_reads import Reads
from scim_appliance.storage.extensions import db


def _refusal(resp) -> tuple:
    assert resp.status_code == 401
    return resp.get_data(), resp.headers["WWW-Authenticate"], resp.mimetype


def test_forged_and_replaced_tokens_get_the_same_answer(app, token):
    client = app.test_client()
    with app.app_context():
        appliance.issue_token(db.session, app.config["SECRET_KEY"])
        db.session.commit()
    answers = {
        "replaced": client.get("/scim/Users", headers={"Authorization": f"Bearer {token}"}),
        "other key": client.get("/scim/Users", headers={
            "Authorization": f"Bearer {tokens.new_token('another-appliance')}"}),
        "garbage": client.get("/scim/Users", headers={"Authorization": "Bearer scimapp_x.y"}),
        "tampered": client.get("/scim/Users", headers={
            "Authorization": f"Bearer {token[:-2]}{'A' if token[-2] != 'A' else 'B'}{token[-1]}"}),
    }
    refusals = {name: _refusal(resp) for name, resp in answers.items()}
    assert len(set(refusals.values())) == 1, refusals


@pytest.mark.parametrize("which,reason", [("replaced", "replaced"), ("forged", "signature")])
def test_the_reason_is_kept_for_the_log(app, token, which, reason):
    with app.app_context():
        appliance.issue_token(db.session, app.config["SECRET_KEY"])
        db.session.commit()
        presented = token if which == "replaced" else tokens.new_token("another-appliance")
        with pytest.raises(appliance.TokenRefused) as refused:
            appliance.authenticate(Reads.within(db.session), app.config["SECRET_KEY"],
                                   f"Bearer {presented}")
        assert refused.value.reason == reason
    with app.test_request_context("/scim/Users",
                                  headers={"Authorization": f"Bearer {presented}"}):
        assert app.full_dispatch_request().status_code == 401
        assert g.auth_failure == reason
