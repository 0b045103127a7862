"""The JSON Schema of pipeline files, generated from the same models that validate them.

The generated file is committed (`pipeline.schema.json` beside this module) for editors; a test
keeps it identical to what the models generate.
"""

import json
from pathlib import Path
from typing import Any

from pydantic import ConfigDict

from pipelines.binding import Binding
from pipelines.config import PipelineConfig

SCHEMA_PATH = Path(__file__).with_name("pipeline.schema.json")


class _PipelineFileModel(PipelineConfig, Binding):
    """Only for schema generation: a pipeline file is a binding plus the four sections."""

    model_config = ConfigDict(
        title="Pepeunit pipeline file",
        json_schema_extra=Binding.model_config.get("json_schema_extra"),
    )


def pipeline_file_schema() -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **_PipelineFileModel.model_json_schema(),
        "description": (
            "A pipeline for one unit node topic: when it is active, which messages pass, how "
            "values are transformed and how they are stored. Bind it with `node` or with "
            "`unit` + `topic`."
        ),
    }


def render_schema() -> str:
    return json.dumps(pipeline_file_schema(), indent=2, ensure_ascii=False) + "\n"
