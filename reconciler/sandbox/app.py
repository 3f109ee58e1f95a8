"""Builds the sandbox's WSGI app from the registered emulators."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from .emulator_registry import emulator_modules
from .settings import SandboxSettings
from .state import SandboxState


def create_app(state_path: str | Path, settings: SandboxSettings | None = None) -> Flask:
    settings = settings or SandboxSettings()
    state = SandboxState(state_path)
    app = Flask("reconciler-sandbox")
    app.config["SANDBOX_STATE"] = state
    app.config["SANDBOX_SETTINGS"] = settings
    for module in emulator_modules():
        module.register(app, state, settings)
    return app
