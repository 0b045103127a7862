"""OpenAPI declarations for routes that answer a file rather than JSON."""

from typing import Any

BINARY = {"schema": {"type": "string", "format": "binary"}}


def file_response(
    description: str, *media_types: str, binary: bool = True
) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route answering a file of one of `media_types` with 200 (use with
    `response_class=Response`, so the document does not claim JSON). A text document (YAML)
    is declared without a schema: validators parse YAML into objects."""
    return {
        200: {
            "description": description,
            "content": {media_type: BINARY if binary else {} for media_type in media_types},
        }
    }
