"""The control plane under ``/_emulator/`` (no auth; not counted in stats; no faults or latency)."""

from __future__ import annotations

from typing import Any

from ..errors import BadRequest
from ..wire import CONTROL, Response
from . import Ctx


def _ok(body: Any, status: int = 200) -> Response:
    return Response(status, body, {}, CONTROL)


def reset(ctx: Ctx) -> Response:
    ctx.app.reset()
    return _ok({"reset": True})


def state(ctx: Ctx) -> Response:
    return _ok(ctx.backend.dump())


def seed(ctx: Ctx) -> Response:
    return _ok(ctx.backend.seed(ctx.request.json()))


def faults_get(ctx: Ctx) -> Response:
    return _ok({"rules": ctx.app.faults.list()})


def faults_put(ctx: Ctx) -> Response:
    try:
        return _ok({"rules": ctx.app.faults.set(ctx.request.json() or [])})
    except (ValueError, TypeError) as exc:
        raise BadRequest(str(exc)) from None


def faults_delete(ctx: Ctx) -> Response:
    ctx.app.faults.clear()
    return _ok({"rules": []})


def stats_get(ctx: Ctx) -> Response:
    return _ok(ctx.app.stats.snapshot())


def stats_delete(ctx: Ctx) -> Response:
    ctx.app.stats.clear()
    return _ok(ctx.app.stats.snapshot())


def config_get(ctx: Ctx) -> Response:
    values = ctx.backend.config.snapshot()
    values["feature.aiagents"] = "enabled" if ctx.backend.ai_agents_enabled() else "disabled"
    return _ok(values)


def config_patch(ctx: Ctx) -> Response:
    changes = ctx.request.json()
    if not isinstance(changes, dict):
        raise BadRequest("expected an object of switch names to values")
    try:
        applied = ctx.backend.config.update(changes)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    if "feature.aiagents" in applied:
        ctx.backend.set_ai_agents(applied["feature.aiagents"] == "enabled")
    return config_get(ctx)
