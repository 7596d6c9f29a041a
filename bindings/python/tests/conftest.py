from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The package under test is the installed one (test.sh installs it from
# source); make sure the source tree's src/ is not shadowing it.
ROOT = Path(__file__).resolve().parent.parent
sys.path = [p for p in sys.path if Path(p or ".").resolve() != (ROOT / "src").resolve()]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
