"""Run by test_install_four_ways with the python of a fresh virtualenv holding pepeunit-sdk
with one extra: checks what that install can and cannot do, and prints it as JSON."""

import base64
import importlib.metadata
import json
import sys
import tempfile
from pathlib import Path

import pepeunit_sdk
from pepeunit_sdk import ClientNotEnabledError, MissingDependencyError, PepeunitClient

UNIT_UUID = "5b3c6a1e-8f0e-4c5e-9a57-2f1d3c4b5a60"


def unit_files(directory: Path) -> tuple[Path, Path, Path]:
    claims = base64.urlsafe_b64encode(json.dumps({"uuid": UNIT_UUID}).encode()).decode()
    env = directory / "env.json"
    env.write_text(json.dumps({"PU_AUTH_TOKEN": f"e30.{claims.rstrip('=')}.c2ln", "X": 1}))
    schema = directory / "schema.json"
    schema.write_text(json.dumps({"output_topic": {"out/pepeunit": ["d/1/pepeunit"]}}))
    return env, schema, directory / "log.json"


def built_in(files: tuple[Path, Path, Path], **flags: bool) -> str:
    """The built-in client's class name, or the error that building it raised."""
    try:
        client = PepeunitClient(*files, **flags)
    except MissingDependencyError as error:
        return f"missing: {error}"
    name = "mqtt_client" if flags.get("enable_mqtt") else "rest_client"
    return type(getattr(client, name)).__name__


def main() -> None:
    imported_optional = sorted({"httpx", "paho"} & set(sys.modules))
    with tempfile.TemporaryDirectory() as directory:
        files = unit_files(Path(directory))
        client = PepeunitClient(*files, console_log=False)
        client.logger.info("smoke")
        refusals = []
        for call in (lambda: client.publish_to_topics("out/pepeunit", "1"), client.download_env):
            try:
                call()
            except ClientNotEnabledError as error:
                refusals.append(str(error))
        result = {
            # What `pip list` would show, without another pip run.
            "distributions": {
                distribution.metadata["Name"]: distribution.version
                for distribution in importlib.metadata.distributions()
            },
            "package_file": pepeunit_sdk.__file__,
            "optional_imported_by_core": imported_optional,
            "unit_uuid": client.unit_uuid,
            "x": client.settings.X,
            "log": [entry["text"] for entry in client.logger.get_full_log()],
            "refusals": refusals,
            "mqtt": built_in(files, enable_mqtt=True),
            "rest": built_in(files, enable_rest=True),
        }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
