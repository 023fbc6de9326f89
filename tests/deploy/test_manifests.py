"""The deployment manifests, validated offline: generated from the registry, lint-clean,
strictly valid core kinds and custom resources, and every overlay renders with kustomize."""

import json
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from jsonschema import Draft7Validator

from shared.runtime.manifests import render
from shared.runtime.registry import all_operations

ROOT = Path(__file__).resolve().parents[2]
KNATIVE = ROOT / "knative"
SCHEMAS = Path(__file__).resolve().parent / "k8s-schemas"  # vendored: see its README
KUBECTL = Path(sys.executable).parent / "kubectl"
K8S_VERSION = "1.33"
CUSTOM = {  # apiVersion, kind -> schema file under SCHEMAS
    ("serving.knative.dev/v1", "Service"): "serving.knative.dev/service_v1.json",
    ("sources.knative.dev/v1", "PingSource"): "sources.knative.dev/pingsource_v1.json",
    ("eventing.knative.dev/v1", "Broker"): "eventing.knative.dev/broker_v1.json",
    ("eventing.knative.dev/v1", "Trigger"): "eventing.knative.dev/trigger_v1.json",
    ("monitoring.coreos.com/v1", "PodMonitor"): "monitoring.coreos.com/podmonitor_v1.json",
    ("traefik.io/v1alpha1", "IngressRoute"): "traefik.io/ingressroute_v1alpha1.json",
    ("traefik.io/v1alpha1", "Middleware"): "traefik.io/middleware_v1alpha1.json",
    ("helm.cattle.io/v1", "HelmChartConfig"): "helm.cattle.io/helmchartconfig_v1.json",
}


def manifest_files() -> list[Path]:
    return sorted(p for p in KNATIVE.rglob("*.yaml") if p.name != "kustomization.yaml")


def documents(text: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def rendered(overlay: str) -> list[dict]:
    result = subprocess.run(
        [str(KUBECTL), "kustomize", str(KNATIVE / "overlays" / overlay)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return documents(result.stdout)


def validate(doc: dict) -> None:
    key = (doc["apiVersion"], doc["kind"])
    if key in CUSTOM:
        schema = json.loads((SCHEMAS / CUSTOM[key]).read_text())
        errors = sorted(Draft7Validator(schema).iter_errors(doc), key=str)
        assert not errors, (
            f"{doc['kind']}/{doc['metadata']['name']}: {errors[0].message} at {list(errors[0].absolute_path)}"
        )
    else:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_the_crd_schemas_are_in_the_repository_with_their_licence() -> None:
    """A fresh clone validates every custom resource: nothing is read from outside the repository."""
    assert SCHEMAS.is_relative_to(ROOT)
    assert "MIT License" in (SCHEMAS / "LICENSE").read_text() and (SCHEMAS / "README.md").is_file()
    vendored = {str(p.relative_to(SCHEMAS)) for p in SCHEMAS.rglob("*.json")}
    assert vendored == set(CUSTOM.values())  # each one is used, none is missing
    for name in vendored:
        assert "properties" in json.loads((SCHEMAS / name).read_text()), name


def test_a_misspelled_field_in_a_custom_resource_is_caught() -> None:
    service = documents((KNATIVE / "base" / "services.yaml").read_text())[0]
    service["spec"]["template"]["spec"]["containerz"] = []
    with pytest.raises(AssertionError, match="containerz"):
        validate(service)


def test_every_custom_kind_in_the_manifests_has_a_schema() -> None:
    core = {"v1", "batch/v1", "kustomize.config.k8s.io/v1beta1"}
    kinds = {(d["apiVersion"], d["kind"]) for p in KNATIVE.rglob("*.yaml") for d in documents(p.read_text())}
    assert {k for k in kinds if k[0] not in core} <= set(CUSTOM)


def test_checked_in_manifests_are_what_the_registry_generates() -> None:
    expected = render()
    on_disk = {str(p.relative_to(KNATIVE)): p.read_text() for p in KNATIVE.rglob("*.yaml")}
    assert set(on_disk) == set(expected), "run `billing manifests` and commit the result"
    stale = [name for name, text in expected.items() if on_disk[name] != text]
    assert not stale, f"out of date (run `billing manifests`): {stale}"


def test_every_function_has_a_knative_service_and_public_routes_are_routed() -> None:
    services = {d["metadata"]["name"]: d for d in documents((KNATIVE / "base" / "services.yaml").read_text())}
    assert set(services) == {op.name for op in all_operations()}
    for op in all_operations():
        spec = services[op.name]["spec"]["template"]["spec"]
        env = {e["name"]: e for e in spec["containers"][0]["env"]}
        assert env["FUNCTION_TARGET"]["value"] == op.name
        assert env["FUNCTION_SIGNATURE_TYPE"]["value"] == op.signature
        assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"] == "billing-database"
        assert spec["containers"][0]["ports"] == [{"name": "http1", "containerPort": 8080}]
        annotations = services[op.name]["spec"]["template"]["metadata"]["annotations"]
        assert annotations["autoscaling.knative.dev/min-scale"] == "0"
    routing = documents((KNATIVE / "base" / "routing.yaml").read_text())
    [route] = [d for d in routing if d["kind"] == "IngressRoute"]
    routed = {r["middlewares"][-1]["name"].removeprefix("host-") for r in route["spec"]["routes"]}
    assert routed == {op.name for op in all_operations() if op.public}
    assert "renew" not in routed
    pings = {d["metadata"]["name"]: d for d in documents((KNATIVE / "base" / "pingsource.yaml").read_text())}
    assert set(pings) == {"renewal-schedule", "dispatch-schedule"}
    ping = pings["renewal-schedule"]
    assert ping["spec"]["sink"]["ref"]["name"] == "renew" and ping["spec"]["timezone"] == "UTC"
    dispatch = pings["dispatch-schedule"]["spec"]
    assert dispatch["sink"]["ref"]["name"] == "dispatch-events" and dispatch["schedule"] == "* * * * *"


def test_yaml_is_lint_clean() -> None:
    config = (
        "{extends: default, rules: {line-length: {max: 160}, document-start: disable, truthy: {check-keys: false}}}"
    )
    result = subprocess.run(
        [sys.executable, "-m", "yamllint", "-s", "-d", config, str(KNATIVE), str(ROOT / ".github")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", manifest_files(), ids=lambda p: str(p.relative_to(KNATIVE)))
def test_each_manifest_is_strictly_valid(path: Path) -> None:
    for doc in documents(path.read_text()):
        validate(doc)


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_each_overlay_renders_and_stays_valid(overlay: str) -> None:
    docs = rendered(overlay)
    kinds = {d["kind"] for d in docs}
    assert {"Namespace", "Service", "PingSource", "IngressRoute", "Middleware", "Job", "PodMonitor"} <= kinds
    for doc in docs:
        validate(doc)
        assert doc["metadata"]["labels"]["app.kubernetes.io/part-of"] == "billing-functions"
        if doc["kind"] != "Namespace":
            assert doc["metadata"].get("namespace") == "billing"
    assert "secret" not in {d["kind"].lower() for d in docs}  # no secret is ever applied from git
    max_scales = {
        d["metadata"]["name"]: d["spec"]["template"]["metadata"]["annotations"]["autoscaling.knative.dev/max-scale"]
        for d in docs
        if d["kind"] == "Service" and d["apiVersion"].startswith("serving")
    }
    assert max_scales.pop("renew") == "1"  # one renewal at a time per cluster, by scale
    assert max_scales.pop("dispatch-events") == "1"  # dispatchers share work by SKIP LOCKED; one is enough
    assert set(max_scales.values()) == {"3" if overlay == "dev" else "20"}


def test_the_workflow_is_a_valid_github_actions_workflow() -> None:
    workflows = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
    assert workflows
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "check-jsonschema"),
            "--builtin-schema",
            "vendor.github-workflows",
            *map(str, workflows),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
