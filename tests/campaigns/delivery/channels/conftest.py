"""Provider fakes for the channel tests: a local HTTP server answering with the providers'
documented payloads (tests/fixtures/<provider>/)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures"


def fixture(provider: str, name: str) -> Any:
    return json.loads((FIXTURES / provider / name).read_text())
