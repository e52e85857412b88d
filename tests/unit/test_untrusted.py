"""Names from AWS are data, never syntax: every value an answer carries is checked where it is
parsed, refused with an error naming the field (never the value), and never reaches INI, YAML
or the terminal raw."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from ekstrio.aws import eks, portal, untrusted
from ekstrio.errors import AwsError
from ekstrio.model import Account, Cluster, ClusterInfo
from ekstrio.output import clusters_table, render_table
from ekstrio.scan_entries import ClusterEntry
from ekstrio.scan_records import ScanCollector, ScanError

# What an intercepting endpoint sent: INI that makes botocore run a command, and escapes that
# recolour and retitle the terminal.
INI = "\n[default]\ncredential_process = /bin/sh -c 'touch /tmp/pwned'\n"
ESC = "\x1b[31mred\x1b[0m\x1b]0;title\x07"
ACCOUNT = "111122223333"
GOOD_CLUSTER = {"name": "web", "arn": f"arn:aws:eks:eu-west-1:{ACCOUNT}:cluster/web",
                "status": "ACTIVE", "endpoint": "https://ABC.gr7.eu-west-1.eks.amazonaws.com",
                "certificateAuthority": {"data": "LS0tLS1CRUdJTg=="}, "tags": {"team": "web"}}


def assert_names_field_only(exc: BaseException, field: str) -> None:
    message = str(exc)
    assert field in message
    assert "\n" not in message
    assert "\x1b" not in message
    assert "credential_process" not in message


@pytest.mark.parametrize(("check", "good", "bad"), [
    (untrusted.account_id, ["111122223333"],
     ["", "1", "1111222233334", "11112222333a", "１１１１２２２２３３３３", ACCOUNT + "\n"]),
    (untrusted.role_name, ["AdministratorAccess", "a.b+c=d,e@f_g-h", "R" * 64],
     ["", "R" * 65, "Admin" + INI, "Admin istrator", "Admin]", "Admin" + ESC, "Rôle"]),
    (untrusted.cluster_name, ["web", "0-a_b", "c" * 100],
     ["", "-web", "_web", "c" * 101, "web\n", "web.prod", "web/../x", "w" + ESC]),
    (untrusted.account_name, ["prod", "Team (prod) [eu] = 1", "Café ☕", "n" * 128],
     ["", "n" * 129, "prod" + INI, "prod" + ESC, "prod\u2028x", "prod\u202ex", "a\tb"]),
    (untrusted.region, ["eu-west-1", "us-gov-west-1", "cn-north-1"],
     ["", "eu-west", "EU-WEST-1", "eu-west-1\n", "../x"]),
    (untrusted.https_endpoint,
     ["https://ABC.gr7.eu-west-1.eks.amazonaws.com", "https://127.0.0.1:8443", "https://e/",
      "https://127.0.0.1:8443/111122223333/eu-west-1/web%2D1"],
     ["http://ABC.eks.amazonaws.com", "https://user:pw@host", "https://host@evil",
      "https://host/pa th", "https://host/a\nb", "https://host/a;b", "https://host?x=1",
      "https://host#f", "https://ho st",
      "https://host\n[default]", "https://", "file:///etc/passwd", "https://host:99999",
      "https://" + ESC]),
    (untrusted.ca_data, ["LS0tLS1CRUdJTg==", "LS0t\nLS1C\n"],
     ["LS0t LS1C", "LS0t: x", "a\n[default]\n", "LS0t" + ESC]),
    (untrusted.email, ["a@example.com"], ["a", "a@b", "a b@example.com", "a@example.com\n"]),
])
def test_each_check_takes_what_aws_documents_and_refuses_the_rest(
        check: Any, good: list[str], bad: list[str]) -> None:
    for value in good:
        assert check(value, "field") == value
    for value in bad:
        with pytest.raises(untrusted.BadValue) as info:
            check(value, "field")
        assert_names_field_only(info.value, "field")
    with pytest.raises(untrusted.BadValue, match="field is not a string"):
        check(12, "field")


def test_tags_and_cluster_arns() -> None:
    assert untrusted.tags({"team": "web", "k": ""}) == {"team": "web", "k": ""}
    for bad in ({"team": "web" + ESC}, {"": "x"}, {"k" * 129: "x"}, {"k": "v" * 257},
                {f"k{i}": "v" for i in range(51)}, ["team"], {"k": 1}):
        with pytest.raises(untrusted.BadValue):
            untrusted.tags(bad)
    arn = f"arn:aws:eks:eu-west-1:{ACCOUNT}:cluster/web"
    assert untrusted.cluster_arn(arn, name="web", account=ACCOUNT) == arn
    for bad in (f"arn:aws:eks:eu-west-1:{ACCOUNT}:cluster/other", arn + "\n",
                "arn:aws:eks:eu-west-1:999999999999:cluster/web", "arn:aws:iam::x:role/web",
                f"arn:evil:eks:eu-west-1:{ACCOUNT}:cluster/web"):
        with pytest.raises(untrusted.BadValue):
            untrusted.cluster_arn(bad, name="web", account=ACCOUNT)


def test_portal_pages_with_hostile_names_are_refused() -> None:
    for item, field in [({"accountId": ACCOUNT, "accountName": "prod" + INI}, "accountName"),
                        ({"accountId": ACCOUNT + INI, "accountName": "prod"}, "accountId"),
                        ({"accountId": ACCOUNT, "emailAddress": "a@b.c" + ESC},
                         "emailAddress")]:
        with pytest.raises(AwsError) as info:
            portal.parse_accounts_page({"accountList": [{"accountId": "999988887777"}, item]})
        assert info.value.code == "InvalidResponse"
        assert_names_field_only(info.value, f"ListAccounts accountList[1].{field}")
    with pytest.raises(AwsError) as info:
        portal.parse_roles_page({"roleList": [{"roleName": "Admin" + INI}]}, ACCOUNT)
    assert_names_field_only(info.value, "ListAccountRoles roleList[0].roleName")
    with pytest.raises(AwsError, match=r"roleList\[0\]\.accountId is not the account asked"):
        portal.parse_roles_page({"roleList": [{"roleName": "Admin",
                                               "accountId": "999988887777"}]}, ACCOUNT)
    # Names AWS can send still parse, absent optional ones included.
    accounts, _ = portal.parse_accounts_page({"accountList": [
        {"accountId": ACCOUNT, "accountName": "Team (prod) ☕"}, {"accountId": "999988887777"}]})
    assert accounts == [Account(ACCOUNT, "Team (prod) ☕"), Account("999988887777", "")]


def test_times_out_of_range_are_invalid_answers_not_crashes() -> None:
    creds = {"accessKeyId": "ASIA", "secretAccessKey": "s", "sessionToken": "t"}
    for expiration in (1e300, -5, float("nan"), float("inf")):
        with pytest.raises(AwsError, match=r"roleCredentials\.expiration"):
            portal.parse_role_credentials({"roleCredentials": {**creds,
                                                               "expiration": expiration}})
    with pytest.raises(AwsError, match=r"roleCredentials\.sessionToken"):
        portal.parse_role_credentials({"roleCredentials": {**creds, "sessionToken": "t\nx",
                                                           "expiration": 1}})
    with pytest.raises(AwsError, match="createdAt"):
        eks.parse_cluster({"cluster": {**GOOD_CLUSTER, "createdAt": 1e300}})


@pytest.mark.parametrize(("change", "field"), [
    ({"name": "web" + INI}, "cluster.name"),
    ({"name": "other"}, "cluster.name is not the cluster asked about"),
    ({"arn": "arn:aws:eks:eu-west-1:999999999999:cluster/web"}, "cluster.arn"),
    ({"endpoint": "http://ABC.gr7.eu-west-1.eks.amazonaws.com"}, "cluster.endpoint"),
    ({"endpoint": "https://u:p@evil.example"}, "cluster.endpoint"),
    ({"certificateAuthority": {"data": "LS0t\n[x]: y"}}, "cluster.certificateAuthority.data"),
    ({"tags": {"team": ESC}}, "cluster.tags value"),
    ({"version": "1.31" + ESC}, "cluster.version"),
    ({"status": "ACTIVE\n"}, "cluster.status"),
])
def test_describe_cluster_answers_with_hostile_values_are_refused(change: dict[str, Any],
                                                                 field: str) -> None:
    assert eks.parse_cluster({"cluster": GOOD_CLUSTER}, name="web", account_id=ACCOUNT)
    with pytest.raises(AwsError) as info:
        eks.parse_cluster({"cluster": {**GOOD_CLUSTER, **change}}, name="web",
                          account_id=ACCOUNT)
    assert info.value.code == "InvalidResponse"
    assert_names_field_only(info.value, field)


def test_a_cluster_list_with_a_hostile_name_is_refused() -> None:
    with pytest.raises(AwsError) as info:
        eks.parse_clusters_page({"clusters": ["web", "x" + ESC]})
    assert_names_field_only(info.value, "ListClusters clusters[1]")
    with pytest.raises(AwsError, match=r"clusters\[0\] is not a string"):
        eks.parse_clusters_page({"clusters": [7]})


def test_the_terminal_never_gets_control_characters() -> None:
    assert untrusted.terminal_safe("plain ☕") == "plain ☕"
    assert untrusted.terminal_safe("a\x1b[31mb\nc\u202e") == "a\\x1b[31mb\\nc\\u202e"
    info = ClusterInfo(name="web" + ESC, arn="arn", status="ACTIVE" + ESC, tags={})
    cluster = Cluster(ACCOUNT, "prod" + ESC, "eu-west-1", info, ("Admin" + ESC,))
    table = clusters_table([ClusterEntry.from_cluster(cluster)]).plain
    assert "\x1b" not in table
    assert "\x07" not in table
    collector = ScanCollector()
    collector.start()
    collector.add(ScanError(ACCOUNT, "prod" + ESC, "eu-west-1", "Admin", "list_clusters",
                            "Boom", "the server said " + ESC))
    out, err = io.StringIO(), io.StringIO()
    render_table(collector.finish(), Console(file=out, force_terminal=True),
                 Console(file=err, force_terminal=True, width=200))
    assert "\x1b[31mred" not in out.getvalue() + err.getvalue()
    assert "\\x1b[31mred" in err.getvalue()


def scan_doc(**change: Any) -> dict[str, Any]:
    entry = {"account_id": ACCOUNT, "account_name": "prod", "roles": ["Admin"],
             "region": "eu-west-1", "name": "web", "arn": GOOD_CLUSTER["arn"],
             "endpoint": GOOD_CLUSTER["endpoint"], "certificate_authority_data": "LS0t",
             "status": "ACTIVE", **change}
    return {"schema": "ekstrio.scan/v1", "partition": "aws",
            "sso": {"session": "corp", "start_url": "https://d-1.awsapps.com/start",
                    "region": "us-east-1"}, "clusters": [entry]}


@pytest.mark.parametrize(("change", "field"), [
    ({"roles": ["Admin" + INI]}, "roles[]"),
    ({"account_name": "prod" + INI}, "account_name"),
    ({"account_id": "1" + INI}, "account_id"),
    ({"name": "web" + INI}, "name"),
    ({"endpoint": "http://plain"}, "endpoint"),
])
def test_a_scan_document_with_hostile_names_writes_no_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        change: dict[str, Any], field: str) -> None:
    """An inventory saved before names were checked (or handed in with --from) is input too."""
    from ekstrio import cli

    source = tmp_path / "scan.json"
    source.write_text(json.dumps(scan_doc(**change)))
    config, kubeconfig = tmp_path / "config", tmp_path / "kubeconfig"
    config.write_text("[profile mine]\nregion = eu-west-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    assert cli.run(["profiles", "--from", str(source)]) == 2
    assert cli.run(["kubeconfig", "--from", str(source)]) == 2
    err = capsys.readouterr().err
    assert f"scan document clusters[0].{field}" in err
    assert "credential_process" not in err
    assert len(err.strip().splitlines()) == 2
    assert config.read_text() == "[profile mine]\nregion = eu-west-1\n"
    assert not kubeconfig.exists()
    # The same document with good names is written.
    source.write_text(json.dumps(scan_doc()))
    assert cli.run(["profiles", "--from", str(source)]) == 0
    assert "sso_role_name = Admin" in config.read_text()


def test_text_refuses_exactly_the_unprintable_categories_ascii_or_not() -> None:
    # ASCII takes a fast path (str.isprintable); both paths must keep one rule.
    import unicodedata

    unprintable = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
    samples = [chr(i) for i in range(160)] + ["\u00e9", "\u200b", "\u2028", "\u202e", "\ue000",
                                              "\u0378", "\u00a0", "\u3000", "\U0001f600"]
    for ch in samples:
        for value in (ch, f"ok {ch}", f"caf\u00e9 {ch}"):
            bad = unicodedata.category(ch) in unprintable
            if bad:
                with pytest.raises(untrusted.BadValue):
                    untrusted.text(value, "f")
            else:
                assert untrusted.text(value, "f") == value
