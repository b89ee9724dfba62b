"""What tests of the LMS standards share: fixture payloads and a source's credentials."""

from __future__ import annotations

import base64
import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from learners.models import LmsSource
from learners.standards.credentials import issue_credentials

FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str, **replace: Any) -> Any:
    """A fixture payload (a copy); ``replace`` sets top-level keys of it (or of each item)."""
    value = json.loads((FIXTURES / name).read_text())
    items = value if isinstance(value, list) else [value]
    for item in items:
        item.update(copy.deepcopy(replace))
    return value


@dataclass
class Credentials:
    source: LmsSource
    secret: str

    @property
    def header(self) -> str:
        token = base64.b64encode(f"{self.source.key}:{self.secret}".encode()).decode()
        return f"Basic {token}"


def make_source(name: str = "Moodle (campus)", **fields: Any) -> Credentials:
    source = LmsSource(name=name, **fields)
    return Credentials(source=source, secret=issue_credentials(source=source))
