"""deploy/config.py.example: only real settings, and an appliance that serves with it
behind the proxy the deploy files set up."""

from __future__ import annotations

import ast

from scim_appliance import create_app
from scim_appliance.cli.serve import check_exposure
from scim_appliance.config import DEFAULTS
from tests.deploy.tools import DEPLOY

SAMPLE = DEPLOY / "config.py.example"


def test_every_key_is_a_setting_and_secret_key_is_left_to_init():
    assigned = [target.id for node in ast.parse(SAMPLE.read_text()).body
                if isinstance(node, ast.Assign) for target in node.targets]
    assert assigned and set(assigned) <= set(DEFAULTS) - {"SECRET_KEY"}


def test_the_sample_loads_and_fits_the_nginx_site(tmp_path, monkeypatch):
    (tmp_path / "config.py").write_text("SECRET_KEY = 'k'\n" + SAMPLE.read_text())
    monkeypatch.setenv("SCIM_APPLIANCE_INSTANCE_PATH", str(tmp_path))
    app = create_app()
    assert app.config["PUBLIC_URL"] == "https://scim.example.com"
    assert app.config["TRUSTED_PROXIES"] == 1 and app.config["PORT"] == 8080
    check_exposure(app.config, app.config["HOST"])  # does not raise
    site = (DEPLOY / "nginx" / "scim-appliance.conf").read_text()
    assert f"server 127.0.0.1:{app.config['PORT']};" in site
