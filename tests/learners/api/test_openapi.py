"""The OpenAPI description in the repository is the one the app serves."""

from __future__ import annotations

from pathlib import Path

import yaml
from django.conf import settings


def test_the_served_schema_matches_openapi_yaml(client, db):
    response = client.get("/api/schema/")

    assert response.status_code == 200
    served = yaml.safe_load(response.content)
    in_repository = yaml.safe_load((Path(settings.BASE_DIR) / "openapi.yaml").read_text())
    assert served == in_repository, (
        "openapi.yaml is stale: run `python manage.py spectacular --file openapi.yaml`"
    )
    operation = served["paths"]["/api/v1/activity/events/"]["post"]
    assert set(operation["responses"]) == {"200", "400", "401", "403", "413", "415"}
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert body["maxItems"] == 1000
