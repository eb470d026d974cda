import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="session", autouse=True)
def _engine_cache(tmp_path_factory):
    """Build models into a cache private to this test session."""
    old = os.environ.get("GENN_ENGINE_CACHE")
    os.environ["GENN_ENGINE_CACHE"] = str(tmp_path_factory.mktemp("genn_cache"))
    yield
    if old is None:
        os.environ.pop("GENN_ENGINE_CACHE", None)
    else:
        os.environ["GENN_ENGINE_CACHE"] = old
