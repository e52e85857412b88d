"""Pure kubeconfig reconcile: ownership, naming, collisions, prune scope, idempotence."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from ekstrio.entry_names import unique_names
from ekstrio.errors import ConfigError, UsageError
from ekstrio.kube_targets import Inventory, parse_inventory
from ekstrio.kubeconfig import ExecSpec, empty_document, reconcile, validate_document
from ekstrio.kubeconfig_io import dump_yaml

SSO = {"session": "corp", "start_url": "https://d-1.awsapps.com/start", "region": "us-east-1"}


def cluster(account: str = "111122223333", name: str = "web", region: str = "eu-west-1",
            roles: tuple[str, ...] = ("Admin",), account_name: str = "prod",
            endpoint: str | None = "https://ABC.gr7.eu-west-1.eks.amazonaws.com",
            ca: str | None = "LS0tLS1CRUdJTi==\n", **extra: Any) -> dict[str, Any]:
    return {"account_id": account, "account_name": account_name, "roles": list(roles),
            "region": region, "name": name,
            "arn": f"arn:aws:eks:{region}:{account}:cluster/{name}", "endpoint": endpoint,
            "certificate_authority_data": ca, "status": "ACTIVE" if endpoint else "CREATING",
            **extra}


def inventory(*clusters: dict[str, Any], completed: tuple[tuple[str, str], ...] = (),
              sso: dict[str, Any] | None = SSO) -> Inventory:
    return parse_inventory({
        "schema": "ekstrio.scan/v1", "sso": sso, "partition": "aws", "clusters": list(clusters),
        "errors": [], "skipped": [],
        "completed": [{"account_id": a, "region": r} for a, r in completed]})


FOREIGN = {
    "apiVersion": "v1", "kind": "Config", "preferences": {"colors": True},
    "x-unknown-top": {"keep": [1, 2]},
    "clusters": [{"name": "minikube", "cluster": {"server": "https://192.168.49.2:8443",
                                                  "certificate-authority": "/ca.crt",
                                                  "x-field": "kept"}}],
    "users": [{"name": "minikube", "user": {"client-certificate": "/c.crt",
                                            "client-key": "/c.key"}}],
    "contexts": [{"name": "minikube", "context": {"cluster": "minikube", "user": "minikube",
                                                  "namespace": "default"}}],
    "current-context": "minikube",
}


def names(doc: dict[str, Any], section: str = "contexts") -> list[str]:
    return [e["name"] for e in doc[section]]


# --- inventory -----------------------------------------------------------------------------

def test_inventory_one_target_per_role_and_skips_clusters_without_endpoint() -> None:
    inv = inventory(cluster(roles=("Admin", "ReadOnly")),
                    cluster(name="new", endpoint=None, ca=None))
    assert [(t.cluster, t.role) for t in inv.targets] == [("web", "Admin"), ("web", "ReadOnly")]
    assert [(s.cluster, s.status) for s in inv.skipped] == [("new", "CREATING")]
    assert "no endpoint" in inv.skipped[0].reason


@pytest.mark.parametrize("doc", [[], {"clusters": "x"}, {"clusters": [1]},
                                 {"clusters": [{"name": "a"}]},
                                 {"schema": "ekstrio.scan/v9", "clusters": []}])
def test_inventory_rejects_other_documents(doc: Any) -> None:
    with pytest.raises(ConfigError):
        parse_inventory(doc)


# --- naming --------------------------------------------------------------------------------

def _f(account: str = "1", name: str = "prod", role: str = "Admin", region: str = "eu-west-1",
       cluster: str = "web") -> dict[str, str]:
    return {"account_id": account, "account_name": name, "role": role, "region": region,
            "cluster": cluster}


def test_default_names_are_readable_and_disambiguated_only_when_needed() -> None:
    items = [_f(), _f(role="ReadOnly"), _f(cluster="api"), _f(cluster="db", region="us-east-1"),
             _f(cluster="db", region="eu-west-1"), _f(account="2", cluster="api"),
             _f(account="3", name="dev team", cluster="x")]
    got = unique_names(items, "{account_name}/{cluster}", ("role", "region", "account_id"))
    assert got == ["prod/web@Admin", "prod/web@ReadOnly", "prod/api@1", "prod/db@us-east-1",
                   "prod/db@eu-west-1", "prod/api@2", "dev-team/x"]


def test_names_do_not_depend_on_input_order_and_avoid_foreign_names() -> None:
    items = [_f(), _f(cluster="api")]
    forward = unique_names(items, "{cluster}", ("role",), taken={"web"})
    backward = unique_names(items[::-1], "{cluster}", ("role",), taken={"web"})
    assert forward == ["web-2", "api"]
    assert backward == forward[::-1]


def test_identical_names_get_numbered() -> None:
    items = [_f(), _f(role="Other")]
    assert unique_names(items, "{cluster}", ()) == ["web", "web-2"]


@pytest.mark.parametrize("template", ["{arn}", "plain", "{cluster", "{cluster!r:>{x}}"])
def test_bad_templates_are_usage_errors(template: str) -> None:
    with pytest.raises(UsageError, match="template"):
        unique_names([_f()], template, ())


# --- reconcile -----------------------------------------------------------------------------

def test_new_file_gets_cluster_user_context_per_cluster_and_role() -> None:
    plan = reconcile({}, inventory(cluster(roles=("Admin", "ReadOnly"))))
    doc = plan.document
    assert plan.added == ("prod/web@Admin", "prod/web@ReadOnly")
    for section in ("clusters", "users", "contexts"):
        assert names(doc, section) == ["prod/web@Admin", "prod/web@ReadOnly"]
    c = doc["clusters"][0]["cluster"]
    assert c["server"] == "https://ABC.gr7.eu-west-1.eks.amazonaws.com"
    assert c["certificate-authority-data"] == "LS0tLS1CRUdJTi==\n"  # copied exactly
    ext = doc["contexts"][1]["context"]["extensions"][0]
    assert ext["name"] == "ekstrio"
    assert ext["extension"]["managed-by"] == "ekstrio"
    assert ext["extension"]["role"] == "ReadOnly"
    exec_ = doc["users"][1]["user"]["exec"]
    assert exec_["command"] == "ekstrio"
    assert exec_["args"] == ["token", "--cluster", "web", "--region", "eu-west-1", "--account",
                             "111122223333", "--role", "ReadOnly", "--sso-session", "corp"]
    assert exec_["apiVersion"] == "client.authentication.k8s.io/v1"
    assert exec_["interactiveMode"] == "Never"
    assert doc["current-context"] == ""


def test_legacy_start_url_and_outposts_arguments() -> None:
    inv = inventory(cluster(outpost_id="op-123"), sso={"session": None,
                                                       "start_url": "https://x/start",
                                                       "region": "eu-central-1"})
    args = reconcile({}, inv).document["users"][0]["user"]["exec"]["args"]
    assert args[-6:] == ["--start-url", "https://x/start", "--sso-region", "eu-central-1",
                         "--cluster-id", "op-123"]


def test_exec_aws_uses_get_token_and_the_profile() -> None:
    inv = inventory(cluster())
    spec = ExecSpec(kind="aws", command="aws",
                    profile_names={("111122223333", "Admin"): "prod.Admin"})
    exec_ = reconcile({}, inv, spec=spec).document["users"][0]["user"]["exec"]
    assert exec_["command"] == "aws"
    assert exec_["args"] == ["--region", "eu-west-1", "eks", "get-token", "--cluster-name",
                             "web", "--output", "json"]
    assert exec_["env"] == [{"name": "AWS_PROFILE", "value": "prod.Admin"}]
    assert exec_["interactiveMode"] == "Never"


def test_foreign_entries_and_unknown_fields_are_kept_in_place() -> None:
    original = copy.deepcopy(FOREIGN)
    plan = reconcile(FOREIGN, inventory(cluster()), prune=True)
    doc = plan.document
    assert original == FOREIGN  # input not modified
    for section in ("clusters", "users", "contexts"):
        assert doc[section][0] == FOREIGN[section][0]
        assert names(doc, section) == ["minikube", "prod/web"]
    assert doc["x-unknown-top"] == {"keep": [1, 2]}
    assert doc["preferences"] == {"colors": True}
    assert doc["current-context"] == "minikube"


def test_second_run_changes_nothing() -> None:
    inv = inventory(cluster(roles=("Admin", "ReadOnly")), cluster(name="api"))
    first = reconcile(FOREIGN, inv)
    second = reconcile(first.document, inv)
    assert not second.changed
    assert dump_yaml(second.document) == dump_yaml(first.document)


def test_owned_entries_are_updated_in_place_and_user_additions_kept() -> None:
    first = reconcile({}, inventory(cluster(), cluster(name="api"))).document
    first["contexts"][1]["context"]["namespace"] = "team-a"  # prod/web, added by the user
    moved = inventory(cluster(endpoint="https://NEW.eks"), cluster(name="api"))
    plan = reconcile(first, moved)
    assert plan.updated == ("prod/web",)
    assert plan.added == ()
    assert names(plan.document, "clusters") == ["prod/api", "prod/web"]
    assert plan.document["clusters"][1]["cluster"]["server"] == "https://NEW.eks"
    assert plan.document["contexts"][1]["context"]["namespace"] == "team-a"


def test_rename_keeps_position_and_follows_current_context() -> None:
    doc = reconcile(FOREIGN, inventory(cluster()), set_current="prod/web").document
    assert doc["current-context"] == "prod/web"
    plan = reconcile(doc, inventory(cluster(roles=("Admin", "ReadOnly"))))
    assert names(plan.document) == ["minikube", "prod/web@Admin", "prod/web@ReadOnly"]
    assert plan.updated == ("prod/web@Admin",)
    assert plan.added == ("prod/web@ReadOnly",)
    assert plan.removed == ()
    assert plan.document["current-context"] == "prod/web@Admin"


def test_prune_only_inside_completed_account_regions() -> None:
    three = inventory(cluster(name="a"), cluster(name="b"),
                      cluster(name="c", account="444455556666", account_name="dev"))
    doc = reconcile(FOREIGN, three).document
    # The next scan sees only "a": eu-west-1 of 1111 completed, 4444 failed (not completed).
    later = inventory(cluster(name="a"), completed=(("111122223333", "eu-west-1"),))
    plan = reconcile(doc, later, prune=True)
    assert plan.removed == ("prod/b",)
    assert plan.kept == ("dev/c",)
    assert names(plan.document) == ["minikube", "dev/c", "prod/a"]
    # Without --prune nothing owned is dropped.
    assert names(reconcile(doc, later).document) == ["minikube", "dev/c", "prod/a", "prod/b"]


def test_prune_keeps_clusters_listed_without_endpoint_and_clears_a_pruned_current() -> None:
    doc = reconcile({}, inventory(cluster(name="a"), cluster(name="b")),
                    set_current="prod/b").document
    later = inventory(cluster(name="a", endpoint=None), completed=(("111122223333",
                                                                    "eu-west-1"),))
    plan = reconcile(doc, later, prune=True)
    assert plan.removed == ("prod/b",)
    assert names(plan.document) == ["prod/a"]
    assert plan.document["current-context"] == ""


def test_name_taken_by_a_foreign_entry_is_never_overwritten() -> None:
    foreign = copy.deepcopy(FOREIGN)
    foreign["users"].append({"name": "prod/web", "user": {"token": "someone-elses"}})
    plan = reconcile(foreign, inventory(cluster()))
    assert plan.document["users"][1] == {"name": "prod/web", "user": {"token": "someone-elses"}}
    assert names(plan.document) == ["minikube", "prod/web-2"]


def test_set_current_must_name_a_context() -> None:
    with pytest.raises(UsageError, match="no such context"):
        reconcile({}, inventory(cluster()), set_current="nope")


def test_exec_ekstrio_needs_the_sso_reference() -> None:
    with pytest.raises(ConfigError, match="SSO"):
        reconcile({}, inventory(cluster(), sso=None))


@pytest.mark.parametrize("doc", [[1, 2], "text", {"clusters": {"a": 1}},
                                 {"users": [{"user": {}}]}])
def test_non_kubeconfig_documents_are_config_errors(doc: Any) -> None:
    with pytest.raises(ConfigError):
        validate_document(doc)


def test_empty_document_round_trips_through_yaml() -> None:
    text = dump_yaml(reconcile(empty_document(), inventory(cluster())).document)
    assert yaml.safe_load(text)["contexts"][0]["name"] == "prod/web"


def test_a_kept_entry_keeps_its_name_when_a_new_cluster_would_take_it() -> None:
    doc = reconcile({}, inventory(cluster(name="web", region="us-east-1"))).document
    # us-east-1 was not completed this time (kept); eu-west-1 now has a "web" too.
    plan = reconcile(doc, inventory(cluster(name="web", region="eu-west-1"),
                                    completed=(("111122223333", "eu-west-1"),)), prune=True)
    assert plan.kept == ("prod/web",)
    assert names(plan.document) == ["prod/web", "prod/web-2"]
    for section in ("clusters", "users", "contexts"):
        assert len({e["name"] for e in plan.document[section]}) == 2


@pytest.mark.parametrize("doc", [[1, 2], "text"])
def test_reconcile_refuses_a_document_that_is_not_a_mapping(doc: Any) -> None:
    with pytest.raises(ConfigError, match="not a YAML mapping"):
        reconcile(doc, inventory(cluster()))


def test_what_kubectl_writes_back_is_not_a_change() -> None:
    # kubectl saves exec blocks with env: null and provideClusterInfo: false, and a user sets a
    # namespace and the current context with kubectl/kubens: none of it is ekstrio's to undo.
    inv = inventory(cluster(), cluster(name="api"))
    doc = copy.deepcopy(reconcile(FOREIGN, inv).document)
    for user in doc["users"][1:]:
        user["user"]["exec"].update({"env": None, "provideClusterInfo": False,
                                     "installHint": "see the wiki"})
    doc["contexts"][2]["context"]["namespace"] = "team-a"
    doc["current-context"] = "prod/web"
    plan = reconcile(doc, inv)
    assert not plan.changed
    assert plan.document == doc
    moved = reconcile(doc, inventory(cluster(endpoint="https://NEW.eks"), cluster(name="api")))
    assert moved.updated == ("prod/web",)
    assert moved.document["users"][2]["user"]["exec"]["installHint"] == "see the wiki"
    assert moved.document["contexts"][2]["context"]["namespace"] == "team-a"
    assert moved.document["current-context"] == "prod/web"


def test_the_exec_env_is_ekstrios() -> None:
    spec = ExecSpec(kind="aws", command="aws", profile_names={("111122223333", "Admin"): "p"})
    doc = reconcile({}, inventory(cluster()), spec=spec).document
    assert doc["users"][0]["user"]["exec"]["env"] == [{"name": "AWS_PROFILE", "value": "p"}]
    back = reconcile(doc, inventory(cluster())).document  # --exec ekstrio again
    assert "env" not in back["users"][0]["user"]["exec"]


@pytest.mark.parametrize(("spec", "api"), [
    (ExecSpec(), "client.authentication.k8s.io/v1"),
    (ExecSpec(api_version="client.authentication.k8s.io/v1beta1"),
     "client.authentication.k8s.io/v1beta1"),
    (ExecSpec(kind="aws", command="aws"), "client.authentication.k8s.io/v1beta1"),
    (ExecSpec(kind="aws", command="aws", api_version="client.authentication.k8s.io/v1"),
     "client.authentication.k8s.io/v1"),
])
def test_exec_api_version(spec: ExecSpec, api: str) -> None:
    exec_ = reconcile({}, inventory(cluster()), spec=spec).document["users"][0]["user"]["exec"]
    assert exec_["apiVersion"] == api
    assert exec_["interactiveMode"] == "Never"  # valid in both, required by v1


def test_exec_command_is_written_as_given() -> None:
    spec = ExecSpec(command="ekstrio")
    exec_ = reconcile({}, inventory(cluster()), spec=spec).document["users"][0]["user"]["exec"]
    assert exec_["command"] == "ekstrio"


def test_kubeconfig_dir_one_file_per_context(tmp_path: Any) -> None:
    from ekstrio.kubeconfig_dir import file_name, write_dir

    assert file_name("prod/web@Admin") == "prod_web@Admin"
    assert file_name("../..") == "context"
    inv = inventory(cluster(roles=("Admin", "ReadOnly")), cluster(name="db"))
    results = write_dir(tmp_path, inv, template="{account_name}/{cluster}", spec=ExecSpec())
    names = sorted(path.name for path, _result, _plan in results)
    assert names == ["prod_db", "prod_web@Admin", "prod_web@ReadOnly"]
    for path, result, _plan in results:
        assert result.written
        doc = yaml.safe_load(path.read_text())
        assert [c["name"] for c in doc["contexts"]] == [doc["current-context"]]
        context = doc["contexts"][0]
        assert context["context"]["cluster"] == context["context"]["user"] == context["name"]
        assert [c["name"] for c in doc["clusters"]] == [context["name"]]
    # Again: nothing to write; a user's namespace in one file survives.
    path = tmp_path / "prod_db"
    doc = yaml.safe_load(path.read_text())
    doc["contexts"][0]["context"]["namespace"] = "team"
    path.write_text(dump_yaml(doc))
    again = write_dir(tmp_path, inv, template="{account_name}/{cluster}", spec=ExecSpec())
    assert not any(result.written for _path, result, _plan in again)
    assert yaml.safe_load(path.read_text())["contexts"][0]["context"]["namespace"] == "team"
