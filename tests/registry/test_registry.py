"""The model registry: the promotion gate, promoted models for the predictor, pruning."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.jobs.worker import NullReporter
from app.predictor.features import feature_matrix
from app.registry.gate import Incumbent, decide
from app.registry.registry import ModelRegistry, NewModel
from app.storage.db import Database
from app.training.dataset import FEATURE_SPEC_HASH
from app.training.estimators import RidgeEstimator

KEY = "NSE_EQ|INE002A01018"


def test_gate() -> None:
    assert not decide({"mae_ratio": 1.0}, FEATURE_SPEC_HASH, None).promoted
    assert decide({"mae_ratio": 0.99}, FEATURE_SPEC_HASH, None).promoted
    incumbent = Incumbent("old", {"mae_ratio": 0.95}, FEATURE_SPEC_HASH)
    worse = decide({"mae_ratio": 0.97}, FEATURE_SPEC_HASH, incumbent)
    assert not worse.promoted and "does not beat the incumbent old's 0.9500x" in worse.reason
    assert decide({"mae_ratio": 0.9}, FEATURE_SPEC_HASH, incumbent).promoted
    assert decide({"mae_ratio": 0.97}, FEATURE_SPEC_HASH, Incumbent("old", {"mae_ratio": 0.5}, "other")).promoted


@pytest.fixture
def registry(database: Database, tmp_path: Path) -> ModelRegistry:
    """On SQLite and PostgreSQL (tests/conftest.py)."""
    return ModelRegistry(database, tmp_path / "models")


async def add(registry: ModelRegistry, ratio: float) -> str:
    model_id = registry.new_model_id()
    rng = np.random.default_rng(len(model_id))
    x = feature_matrix(100 * np.exp(np.cumsum(rng.normal(0, 0.01, 300))))
    model = RidgeEstimator((1, 5), alpha=1.0)
    model.fit(x, rng.normal(0, 0.01, (300, 2)), NullReporter())
    directory = registry.artifact_dir(model_id)
    directory.mkdir(parents=True)
    model.save(directory)
    await registry.register(NewModel(model_id, "ridge", KEY, "1m", [1, 5], 0, 60, 300, {"mae_ratio": ratio}, {}, None))
    return model_id


async def test_promotion_and_the_predictor_api(registry: ModelRegistry) -> None:
    assert await registry.promoted("1m") == {} and registry.version == 0
    first = await add(registry, 0.98)
    assert (await registry.consider(first)).promoted and registry.version == 1
    loaded = (await registry.promoted("1m"))[KEY]
    assert loaded.model_kind == f"ridge:{first}" and loaded.horizons == (1, 5)
    features = feature_matrix(100 + np.arange(10.0))[-3:]
    assert loaded.predict(features).shape == (2, 3)
    worse = await add(registry, 0.99)
    decision = await registry.consider(worse)
    assert not decision.promoted and decision.incumbent_id == first and registry.version == 1
    assert (await registry.get(worse))["decision"] == decision.reason
    better = await add(registry, 0.9)
    assert (await registry.consider(better)).promoted and registry.version == 2
    assert (await registry.promoted("1m"))[KEY].model_id == better

    doomed = await registry.unpromoted_beyond(1)
    assert set(doomed) == {first, worse}
    await registry.delete(doomed)
    assert [m["model_id"] for m in await registry.find()] == [better]
    assert not registry.artifact_dir(first).exists()
