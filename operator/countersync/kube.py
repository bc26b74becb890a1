"""A small asyncio Kubernetes API client for the few calls the operator makes itself.

kopf watches and patches the CounterSyncs; Jobs and pods are created, listed and deleted here.
It authenticates with the same ``kopf.ConnectionInfo`` the operator's login handler produced, so
there is one source of credentials, and it asks for fresh credentials once on a 401 (service
account tokens are rotated by the kubelet).
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import ssl
import tempfile
import urllib.parse
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp
import kopf

logger = logging.getLogger(__name__)

CredentialsProvider = Callable[[], "kopf.ConnectionInfo | Awaitable[kopf.ConnectionInfo]"]


class ApiError(Exception):
    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(f"{status} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.message = message

    @property
    def permanent(self) -> bool:
        """A 4xx other than conflicts and throttling will not fix itself by retrying."""
        return 400 <= self.status < 500 and self.status not in (401, 408, 409, 429)


class NotFound(ApiError):
    pass


class Conflict(ApiError):
    pass


class Kube:
    def __init__(self, credentials: CredentialsProvider, *, timeout: float = 30.0) -> None:
        self._credentials = credentials
        self._timeout = timeout
        self._info: kopf.ConnectionInfo | None = None
        self._session: aiohttp.ClientSession | None = None
        self._tempfiles: list[str] = []
        self._lock = asyncio.Lock()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        for path in self._tempfiles:
            try:
                os.unlink(path)
            except OSError:
                pass
        self._tempfiles.clear()

    async def _ensure(self, *, refresh: bool = False) -> tuple[aiohttp.ClientSession, kopf.ConnectionInfo]:
        async with self._lock:
            if refresh or self._session is None or self._info is None:
                info = self._credentials()
                if asyncio.iscoroutine(info) or isinstance(info, Awaitable):
                    info = await info
                if info is None:
                    raise ApiError(401, "Unauthorized", "no Kubernetes credentials available")
                if self._session is not None:
                    await self._session.close()
                self._info = info
                self._session = aiohttp.ClientSession(
                    connector=aiohttp.TCPConnector(ssl=self._ssl_context(info), limit=10),
                    timeout=aiohttp.ClientTimeout(total=self._timeout),
                    headers=_auth_headers(info),
                    trust_env=bool(getattr(info, "trust_env", False)),
                )
            assert self._session is not None and self._info is not None
            return self._session, self._info

    def _ssl_context(self, info: kopf.ConnectionInfo) -> ssl.SSLContext | bool:
        if not info.server.startswith("https"):
            return False
        if info.insecure:
            return False
        ctx = ssl.create_default_context(
            cafile=os.fspath(info.ca_path) if info.ca_path else None,
            cadata=_text(info.ca_data) if info.ca_data else None,
        )
        cert = info.certificate_path or self._tempfile(info.certificate_data)
        key = info.private_key_path or self._tempfile(info.private_key_data)
        if cert:
            ctx.load_cert_chain(certfile=os.fspath(cert), keyfile=os.fspath(key) if key else None)
        return ctx

    def _tempfile(self, data: str | bytes | None) -> str | None:
        if not data:
            return None
        raw = data.encode() if isinstance(data, str) else data
        if not raw.lstrip().startswith(b"-----"):
            raw = base64.b64decode(raw)  # kubeconfig *-data fields are base64
        fd, path = tempfile.mkstemp(prefix="countersync-", suffix=".pem")
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
        self._tempfiles.append(path)
        return path

    async def request(
            self,
            method: str,
            path: str,
            *,
            params: Mapping[str, str] | None = None,
            body: Any = None,
            content_type: str = "application/json",
    ) -> Any:
        for attempt in (1, 2):
            session, info = await self._ensure(refresh=attempt == 2)
            url = info.server.rstrip("/") + path
            async with session.request(method, url, params=params, json=body,
                                       headers={"Content-Type": content_type} if body is not None else None) as resp:
                if resp.status == 401 and attempt == 1:
                    continue
                text = await resp.text()
                if resp.status >= 400:
                    raise _error(resp.status, text)
                return _json(text)
        raise ApiError(401, "Unauthorized", "credentials were refused twice")

    # The few verbs the operator uses:

    async def create(self, path: str, obj: Mapping[str, Any]) -> Any:
        return await self.request("POST", path, body=obj)

    async def delete(self, path: str, *, propagation: str = "Background") -> Any:
        try:
            return await self.request("DELETE", path, body={"kind": "DeleteOptions", "apiVersion": "v1",
                                                            "propagationPolicy": propagation})
        except NotFound:
            return None

    async def list(self, path: str, *, label_selector: str | None = None) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        params: dict[str, str] = {"limit": "500"}
        if label_selector:
            params["labelSelector"] = label_selector
        while True:
            data = await self.request("GET", path, params=params) or {}
            items.extend(data.get("items") or [])
            token = (data.get("metadata") or {}).get("continue")
            if not token:
                return items
            params["continue"] = token


def jobs_path(namespace: str, name: str | None = None) -> str:
    base = f"/apis/batch/v1/namespaces/{urllib.parse.quote(namespace)}/jobs"
    return f"{base}/{urllib.parse.quote(name)}" if name else base


def pods_path(namespace: str) -> str:
    return f"/api/v1/namespaces/{urllib.parse.quote(namespace)}/pods"


def _auth_headers(info: kopf.ConnectionInfo) -> dict[str, str]:
    if info.token:
        return {"Authorization": f"{info.scheme or 'Bearer'} {info.token}"}
    if info.username and info.password is not None:
        raw = f"{info.username}:{info.password}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode()}
    return {}


def _text(data: str | bytes) -> str:
    raw = data.decode() if isinstance(data, bytes) else data
    if not raw.lstrip().startswith("-----"):
        raw = base64.b64decode(raw).decode()
    return raw


def _json(text: str) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _error(status: int, text: str) -> ApiError:
    data = _json(text)
    reason = data.get("reason", "") if isinstance(data, dict) else ""
    message = data.get("message", text[:300]) if isinstance(data, dict) else text[:300]
    cls = NotFound if status == 404 else Conflict if status == 409 else ApiError
    return cls(status, str(reason), str(message))
