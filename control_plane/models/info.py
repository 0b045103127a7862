"""The instance description served at `GET /pepeunit`."""

from pydantic import BaseModel


class InstanceInfo(BaseModel):
    name: str
    version: str
    description: str
    swagger: str
    """Absolute link to the interactive API documentation."""
