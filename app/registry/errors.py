"""Registry errors."""

from __future__ import annotations


class RegistryError(Exception):
    """Base of registry errors."""


class ModelNotFound(RegistryError):
    def __init__(self, model_id: str) -> None:
        self.model_id = model_id
        super().__init__(f"no model {model_id!r}")
