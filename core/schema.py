"""OpenAPI descriptions of our authentication (registered when the app is ready)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ServiceOwnerAuthenticationScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "core.auth.ServiceOwnerAuthentication"
    name = ["bearerAuth", "platformAccessToken"]

    def get_security_requirement(self, auto_schema: Any) -> list[dict[str, list[Any]]]:
        # Either header authenticates on its own: two requirements (OR), not one naming both (AND).
        return [{"bearerAuth": []}, {"platformAccessToken": []}]

    def get_security_definition(self, auto_schema: Any) -> list[dict[str, Any]]:
        return [
            {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
                "description": "A service-owner token with scope altinn:serviceowner/notifications.create; "
                "the creator is its urn:altinn:org claim.",
            },
            {
                "type": "apiKey",
                "in": "header",
                "name": "PlatformAccessToken",
                "description": "A platform access token, signed with the platform's key and naming its "
                "application in urn:altinn:app; the creator is its iss claim, a trusted application owner.",
            },
        ]
