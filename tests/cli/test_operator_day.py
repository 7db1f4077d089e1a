"""What a newcomer met running the appliance for a day (issue 15, "The operator's day"):
each command as a real process against a real instance folder."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

from tests.appliance_server import RunningAppliance
from tests.cli.test_cli import run


def test_make_runs_sync_enable_turns_sync_on_once_and_never_overrules_an_operator(tmp_path):
    instance = tmp_path / "instance"
    run(instance, "init")
    out = run(instance, "sync", "enable", "--if-never-set").stdout
    assert out.strip() == "SCIM sync enabled."
    run(instance, "sync", "disable")
    out = run(instance, "sync", "enable", "--if-never-set").stdout
    assert "DISABLED" in out
    assert run(instance, "sync", "status").stdout.strip() == "disabled"


def test_an_operator_who_disabled_sync_before_the_first_make_run_keeps_it_off(tmp_path):
    instance = tmp_path / "instance"
    run(instance, "init")
    run(instance, "sync", "disable")  # already off: still a decision
    run(instance, "sync", "enable", "--if-never-set")
    assert run(instance, "sync", "status").stdout.strip() == "disabled"


def test_endpoint_reports_the_port_serve_was_started_on_and_says_entra_needs_https(
        tmp_path):
    appliance = RunningAppliance(tmp_path / "instance").start()  # serve --port <free>
    try:
        proc = run(appliance.instance, "endpoint")
        assert proc.stdout.strip() == f"http://127.0.0.1:{appliance.port}/scim"
        assert "public HTTPS" in proc.stderr and "PUBLIC_URL" in proc.stderr
    finally:
        appliance.stop()
    stopped = run(appliance.instance, "endpoint").stdout.strip()
    assert stopped == "http://127.0.0.1:8080/scim"  # nothing serving: the configured port
    public = run(appliance.instance, "endpoint",
                 env={"SCIM_APPLIANCE_PUBLIC_URL": "https://scim.contoso.com"})
    assert public.stdout.strip() == "https://scim.contoso.com/scim" and public.stderr == ""


def test_config_show_says_where_each_setting_came_from_and_hides_secrets(tmp_path):
    instance = tmp_path / "instance"
    run(instance, "init")
    with open(instance / "config.py", "a", encoding="utf-8") as fh:
        fh.write("SMTP_PASSWORD = 'hunter2'\nLOG_RETENTION_DAYS = 7\n")
    env = {"SCIM_APPLIANCE_PORT": "9000",
           "SCIM_APPLIANCE_SQLALCHEMY_DATABASE_URI":
               f"sqlite:///{instance / 'scim-appliance.db'}"}
    proc = run(instance, "config", "show", "--json", env=env)
    rows = {row["key"]: row for row in json.loads(proc.stdout)}
    assert rows["PORT"] == {"key": "PORT", "value": 9000, "source": "environment"}
    assert rows["LOG_RETENTION_DAYS"]["source"] == "instance/config.py"
    assert rows["LOG_RETENTION_DAYS"]["value"] == 7
    assert rows["THREADS"]["source"] == "default"
    assert rows["SMTP_PASSWORD"]["value"] == "(set, hidden)"
    assert rows["SECRET_KEY"]["value"] == "(set, hidden)"
    text = run(instance, "config", "show", env=env)
    assert "hunter2" not in text.stdout + text.stderr
    secret = (instance / "config.py").read_text().split("SECRET_KEY = ")[1].split("\n")[0]
    assert secret.strip("'") not in text.stdout
    assert "restart" in text.stderr


def test_help_lists_only_the_appliances_own_options():
    proc = run(None, "--help")
    for flask_option in ("--app", "--env-file", "--debug"):
        assert flask_option not in proc.stdout
    assert "--version" in proc.stdout


def test_groups_list_help_and_filters_speak_of_groups(tmp_path):
    instance = tmp_path / "instance"
    run(instance, "init")
    assert "userName" not in run(instance, "groups", "list", "--help").stdout
    proc = run(instance, "groups", "list", "--filter", "active eq false", check=False)
    assert proc.returncode == 1
    assert "Group attributes:" in proc.stderr and "displayName" in proc.stderr


def test_users_import_takes_true_false_only_names_the_earlier_line_and_counts_right(
        tmp_path):
    instance = tmp_path / "instance"
    run(instance, "init")
    csv = tmp_path / "users.csv"
    csv.write_text("userName,active\nzoe@contoso.com,yes\nann@contoso.com,0\n",
                   encoding="utf-8")
    proc = run(instance, "users", "import", str(csv), check=False)
    assert proc.returncode == 1
    assert "users.csv:2 (zoe@contoso.com): active must be true or false, not 'yes'" \
        in proc.stderr
    assert "users.csv:3 (ann@contoso.com): active must be true or false, not '0'" \
        in proc.stderr
    csv.write_text("userName,active\nzoe@contoso.com,TRUE\nbob@contoso.com,false\n"
                   "ZOE@contoso.com,true\n", encoding="utf-8")
    proc = run(instance, "users", "import", str(csv), check=False)
    assert "users.csv:4 (ZOE@contoso.com): the same userName as line 2" in proc.stderr
    csv.write_text("userName\nzoe@contoso.com\n", encoding="utf-8")
    assert run(instance, "users", "import", str(csv)).stdout.strip() == \
        "Imported 1 local user, 0 group memberships."
    csv.write_text("userName\nann@contoso.com\nmax@contoso.com\nbob@contoso.com\n",
                   encoding="utf-8")
    run(instance, "users", "import", str(csv))
    listed = json.loads(run(instance, "users", "list", "--json").stdout)
    assert [u["userName"] for u in listed] == ["ann@contoso.com", "bob@contoso.com",
                                               "max@contoso.com", "zoe@contoso.com"]


def test_name_adjustments_show_a_backslash_once(tmp_path):
    instance = tmp_path / "instance"
    run(instance, "init")
    csv = tmp_path / "users.csv"
    csv.write_text("userName\nCONTOSO\\asmith\n", encoding="utf-8")
    run(instance, "users", "import", str(csv))
    out = run(instance, "names", "adjustments").stdout
    assert '"CONTOSO\\asmith" -> "CONTOSO_asmith"' in out


def test_a_revert_lists_what_it_left_alone_once_and_logs_the_real_command(tmp_path):
    instance = tmp_path / "instance"
    run(instance, "init")
    csv = tmp_path / "users.csv"
    csv.write_text("userName,email\njdoe,jdoe@contoso.com\nasmith,asmith@contoso.com\n",
                   encoding="utf-8")
    run(instance, "users", "import", str(csv))
    run(instance, "migrate-userids", "--apply", "--pause", "0")
    con = sqlite3.connect(instance / "scim-appliance.db")
    con.execute("UPDATE users SET user_name = 'renamed@contoso.com', "
                "user_name_ci = 'renamed@contoso.com' WHERE user_name = 'jdoe@contoso.com'")
    con.commit()
    con.close()
    undo = instance / "userid-migration-undo.csv"
    out = run(instance, "migrate-userids", "--revert", str(undo), "--apply",
              "--pause", "0").stdout
    assert out.count("[skipped] jdoe@contoso.com -> jdoe") == 1
    log = run(instance, "log", "--json", "--limit", "1").stdout
    assert json.loads(log)[0]["path"] == "scim-appliance migrate-userids --revert"


def test_a_listing_piped_into_head_ends_quietly(tmp_path):
    """`scim-appliance users list | head -1`: no 'Error: BrokenPipeError' line. The
    listing is larger than a pipe holds, so the writer is still writing at the close."""
    import os
    import subprocess
    import sys

    instance = tmp_path / "instance"
    run(instance, "init")
    csv = tmp_path / "users.csv"
    csv.write_text("userName,displayName\n" + "".join(
        f"user{n:05d}@contoso.com,{'x' * 60}\n" for n in range(2000)), encoding="utf-8")
    run(instance, "users", "import", str(csv))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCIM_APPLIANCE_")}
    env["SCIM_APPLIANCE_INSTANCE_PATH"] = str(instance)
    proc = subprocess.Popen([sys.executable, "-m", "scim_appliance", "users", "list"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.readline()
    proc.stdout.close()  # what head does after its line
    _, err = proc.communicate(timeout=60)
    assert err.decode() == ""


def test_token_issue_says_entra_needs_https_on_stderr_and_keeps_the_token_last(tmp_path):
    instance = tmp_path / "instance"
    run(instance, "init")
    proc = run(instance, "token", "issue")
    assert "public HTTPS" in proc.stderr
    assert proc.stdout.splitlines()[-1].startswith("scimapp_")
    public = run(instance, "token", "issue",
                 env={"SCIM_APPLIANCE_PUBLIC_URL": "https://scim.contoso.com"})
    assert public.stderr == ""


def test_serve_names_the_operator_console_and_how_to_make_its_first_administrator(tmp_path):
    appliance = RunningAppliance(tmp_path / "instance").start()
    appliance.stop()
    assert (f"Operator console: http://127.0.0.1:{appliance.port}/ (no administrator yet: "
            "'scim-appliance admin create NAME' makes one)") in appliance.proc_output
    subprocess.run([sys.executable, "-m", "scim_appliance", "admin", "create", "alex",
                    "--password-stdin"], input="correct horse battery staple\n", text=True,
                   env=appliance.env, check=True, capture_output=True)
    appliance.serve()
    appliance.stop()
    assert f"Operator console: http://127.0.0.1:{appliance.port}/\n" in appliance.proc_output
