"""The MLflow model registry as the API reads it: its REST API over httpx, no MLflow client.

Why not ``mlflow.MlflowClient``: serving needs six read-only calls (a version by alias or number,
the version list and aliases, the version's run, its ``.onnx`` artifact), and the MLflow client
with what it requires (the Databricks SDK, google-auth, cryptography, OpenTelemetry, GitPython,
protobuf) is about 90 MB of the serving image (issue 21: ≤ 450 MB). These endpoints are MLflow's
documented REST API (``/api/2.0/mlflow/…``) and its artifact proxy (``/api/2.0/mlflow-artifacts``,
``mlflow server --serve-artifacts``, which every EDIP deployment runs); artifacts on a path the
API can read (``file:`` or a plain path) are read from disk. Calls fail fast (one try, the
``EDIP_REGISTRY_TIMEOUT_S`` timeout): a dead registry means "serve the fallback", not a hang.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import httpx

from edip_pipeline.http import ssl_context

API = "/api/2.0/mlflow"
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"
#: most versions one search page returns (MLflow's own limit is larger; pages follow)
PAGE = 200


class RegistryError(RuntimeError):
    """The registry refused or could not answer (its ``error_code`` and message when it said)."""


@dataclass(frozen=True)
class ModelVersion:
    """The fields of an MLflow model version the API reads (the REST API's names)."""

    name: str
    version: str
    run_id: str | None = None
    source: str | None = None
    creation_timestamp: int | None = None
    tags: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> ModelVersion:
        return cls(
            name=str(body["name"]),
            version=str(body["version"]),
            run_id=body.get("run_id") or None,
            source=body.get("source"),
            creation_timestamp=int(body["creation_timestamp"])
            if body.get("creation_timestamp")
            else None,
            tags=_pairs(body.get("tags")),
        )


@dataclass(frozen=True)
class RunData:
    """A run's metrics, parameters and tags."""

    metrics: dict[str, float]
    params: dict[str, str]
    tags: dict[str, str]


def _pairs(items: list[dict[str, Any]] | None, value: str = "value") -> dict[str, Any]:
    return {str(item["key"]): item.get(value) for item in items or []}


class RegistryReader:
    """Read-only calls to the registry at ``tracking_uri`` (an ``http(s)://`` MLflow server)."""

    def __init__(self, tracking_uri: str, timeout_s: float) -> None:
        self.base = tracking_uri.rstrip("/")
        self.timeout_s = timeout_s

    def _call(self, path: str, params: dict[str, Any] | None = None) -> httpx.Response:
        try:
            r = httpx.get(
                f"{self.base}{path}", params=params, timeout=self.timeout_s, verify=ssl_context()
            )
        except httpx.HTTPError as exc:
            raise RegistryError(f"registry {self.base} unreachable: {exc!r}") from exc
        if r.status_code != 200:
            try:
                body = r.json()
                detail = f"{body.get('error_code', r.status_code)}: {body.get('message', '')}"
            except ValueError:
                detail = f"HTTP {r.status_code}: {r.text[:200]}"
            raise RegistryError(f"GET {path} {params or ''}: {detail}")
        return r

    def _get(self, endpoint: str, /, **params: Any) -> dict[str, Any]:
        body: dict[str, Any] = self._call(endpoint, params or None).json()
        return body

    def version_by_alias(self, name: str, alias: str) -> ModelVersion:
        body = self._get(f"{API}/registered-models/alias", name=name, alias=alias)
        return ModelVersion.from_json(body["model_version"])

    def version(self, name: str, version: str) -> ModelVersion:
        body = self._get(f"{API}/model-versions/get", name=name, version=version)
        return ModelVersion.from_json(body["model_version"])

    def versions(self, name: str) -> list[ModelVersion]:
        """Every version of ``name`` (every page)."""
        found: list[ModelVersion] = []
        token: str | None = None
        while True:
            params: dict[str, Any] = {"filter": f"name='{name}'", "max_results": PAGE}
            if token:
                params["page_token"] = token
            body = self._get(f"{API}/model-versions/search", **params)
            found += [ModelVersion.from_json(mv) for mv in body.get("model_versions", [])]
            token = body.get("next_page_token")
            if not token:
                return found

    def aliases(self, name: str) -> dict[str, str]:
        """``{alias: version}`` of the registered model."""
        body = self._get(f"{API}/registered-models/get", name=name)
        items = body["registered_model"].get("aliases") or []
        return {str(a["alias"]): str(a["version"]) for a in items}

    def run(self, run_id: str) -> RunData:
        data = self._get(f"{API}/runs/get", run_id=run_id)["run"].get("data", {})
        metrics = {k: float(v) for k, v in _pairs(data.get("metrics")).items()}
        return RunData(metrics, _pairs(data.get("params")), _pairs(data.get("tags")))

    def artifact_files(self, name: str, version: str, suffix: str) -> list[tuple[str, bytes]]:
        """The version's artifact files named ``*suffix`` as ``(relative path, bytes)``, sorted."""
        uri = self._get(f"{API}/model-versions/get-download-uri", name=name, version=version)
        files = self._read_tree(self._resolve(str(uri["artifact_uri"])), suffix)
        return sorted(files)

    def _resolve(self, uri: str) -> str:
        """``runs:/`` and ``models:/<logged model id>`` as the artifact location they name."""
        parsed = urlparse(uri)
        if parsed.scheme == "runs":
            run_id, _, sub = parsed.path.lstrip("/").partition("/")
            info = self._get(f"{API}/runs/get", run_id=run_id)["run"]["info"]
            return f"{str(info['artifact_uri']).rstrip('/')}/{sub}".rstrip("/")
        if parsed.scheme == "models" and parsed.path.lstrip("/").startswith("m-"):
            model_id = parsed.path.lstrip("/").split("/")[0]
            info = self._get(f"{API}/logged-models/{model_id}")["model"]["info"]
            return str(info["artifact_uri"])
        return uri

    def _read_tree(self, uri: str, suffix: str) -> list[tuple[str, bytes]]:
        parsed = urlparse(uri)
        if parsed.scheme in ("", "file"):
            root = Path(unquote(parsed.path))
            files = sorted(p for p in root.rglob(f"*{suffix}") if p.is_file())
            if root.is_file():
                files = [root] if root.name.endswith(suffix) else []
                root = root.parent
            return [(str(p.relative_to(root)), p.read_bytes()) for p in files]
        if parsed.scheme == "mlflow-artifacts":
            return self._proxied(parsed.path.strip("/"), "", suffix)
        if parsed.scheme in ("http", "https") and ARTIFACTS in parsed.path:
            return self._proxied(parsed.path.split(ARTIFACTS, 1)[1].strip("/"), "", suffix)
        raise RegistryError(
            f"artifact store {parsed.scheme}: not readable by the API (serve the artifacts through "
            "the MLflow server: `mlflow server --serve-artifacts`)"
        )

    def _proxied(self, root: str, sub: str, suffix: str) -> list[tuple[str, bytes]]:
        """The files named ``*suffix`` under ``root/sub`` through the artifact proxy (recursive)."""
        path = f"{root}/{sub}".strip("/")
        listing = self._get(ARTIFACTS, path=path).get("files")
        if not listing:  # a file, not a directory: the proxy lists nothing
            if not path.endswith(suffix):
                return []
            return [(path.rsplit("/", 1)[-1], self._call(f"{ARTIFACTS}/{path}").content)]
        out: list[tuple[str, bytes]] = []
        for item in listing:
            rel = f"{sub}/{str(item['path']).rsplit('/', 1)[-1]}".strip("/")
            if item.get("is_dir"):
                out += self._proxied(root, rel, suffix)
            elif rel.endswith(suffix):
                out.append((rel, self._call(f"{ARTIFACTS}/{root}/{rel}").content))
        return out
