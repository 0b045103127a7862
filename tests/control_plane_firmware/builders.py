"""Sample repository trees and unit data, and archive readers that do what the published
clients do (docs/compatibility.md#firmware-archives) with the standard library only."""

import io
import json
import tarfile
import zlib
from pathlib import Path
from uuid import UUID

from control_plane.services.firmware import (
    FirmwareContent,
    UnitEnvSettings,
    UnitSecrets,
    build_env_json,
    build_schema_json,
    validate_schema_example,
)

DOMAIN = "iot.example.com:8443"
UNIT_UUID = UUID("9f1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d")
INPUT_NODE_UUID = UUID("11111111-2222-4333-8444-555555555555")
OUTPUT_NODE_UUID = UUID("66666666-7777-4888-9999-aaaaaaaaaaaa")
OPAQUE_OUTPUT_NODE_UUID = UUID("bbbbbbbb-cccc-4ddd-8eee-ffffffffffff")
COMMIT = "3f2a9c1e5b7d4f6a8c0e2b4d6f8a0c2e4b6d8f0a"

SCHEMA_EXAMPLE = {
    "input_base_topic": [
        "update/pepeunit",
        "env_update/pepeunit",
        "schema_update/pepeunit",
        "log_sync/pepeunit",
    ],
    "output_base_topic": ["state/pepeunit", "log/pepeunit"],
    "input_topic": ["set_fan_state/pepeunit"],
    "output_topic": ["current_temp/pepeunit", "raw_adc"],
}
ENV_EXAMPLE = {"DELAY_PUB_MSG": 5, "PUC_WIFI_SSID": "", "PU_MQTT_PORT": 1}

BIG_BINARY = bytes(range(256)) * 64
PEPEIGNORE = """\
# what the device does not need
.git
.gitignore
.pepeignore
env_example.json
schema_example.json
README.md
docs/
*.log
!keep.log
build
"""
SAMPLE_REPO: dict[str, str | bytes] = {
    ".pepeignore": PEPEIGNORE,
    ".gitignore": "env.json\nschema.json\n",
    ".git/HEAD": "ref: refs/heads/main\n",
    "README.md": "# Fan controller\n",
    "env_example.json": json.dumps(ENV_EXAMPLE),
    "schema_example.json": json.dumps(SCHEMA_EXAMPLE),
    "env.json": '{"PU_DOMAIN": "a developer machine"}',
    "schema.json": "{}",
    "main.py": "print('fan')\n",
    "boot.py": "import main\n",
    "lib/sensor.py": "def read():\n    return 21.5\n",
    "lib/vendor/blob.bin": BIG_BINARY,
    "lib/env.json": '{"nested": "not the unit env"}',
    "docs/guide.md": "how to wire it\n",
    "build/firmware.o": b"\x7fELF",
    "logs/debug.log": "noise\n",
    "keep.log": "kept on purpose\n",
}
# What SAMPLE_REPO ships besides the generated env.json and schema.json, read off PEPEIGNORE.
SAMPLE_REPO_SHIPPED = {
    "main.py",
    "boot.py",
    "lib/sensor.py",
    "lib/vendor/blob.bin",
    "lib/env.json",
    "keep.log",
}


def write_tree(root: Path, files: dict[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return root


def unit_settings(**changes: object) -> UnitEnvSettings:
    values: dict[str, object] = {
        "domain": DOMAIN,
        "secure": True,
        "app_prefix": "/pepeunit",
        "api_prefix": "/api/v1",
        "mqtt_host": "mqtt.example.com",
        "mqtt_port": 1883,
        "unit_auth_token": "eyJhbGciOiJIUzI1NiJ9.eyJ1dWlkIjoiMSIsInR5cGUiOiJVbml0In0.c2ln",
        "unit_secrets": UnitSecrets(secret_key="c2VjcmV0", encrypt_key="ZW5jcnlwdA=="),
        "state_send_interval": 60,
        "commit_version": COMMIT,
    }
    values.update(changes)
    return UnitEnvSettings(**values)  # type: ignore[arg-type]


def sample_content(repo_tree: Path | None, *, unit_uuid: UUID = UNIT_UUID) -> FirmwareContent:
    schema = build_schema_json(
        validate_schema_example(SCHEMA_EXAMPLE),
        domain=DOMAIN,
        unit_uuid=unit_uuid,
        input_node_uuids={"set_fan_state/pepeunit": INPUT_NODE_UUID},
        output_node_uuids={
            "current_temp/pepeunit": OUTPUT_NODE_UUID,
            "raw_adc": OPAQUE_OUTPUT_NODE_UUID,
        },
    )
    env = build_env_json(unit_settings(), ENV_EXAMPLE)
    return FirmwareContent(env_json=env, schema_json=schema, repo_tree=repo_tree)


def python_client_unpack(archive: bytes, destination: Path) -> None:
    """pepeunit-client 1.3.0: zlib with wbits=9, then tarfile with the 'data' filter."""
    tar_bytes = zlib.decompress(archive, 9)
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
        tar.extractall(destination, filter="data")


def micropython_client_unpack(archive: bytes) -> dict[str, bytes]:
    """The MicroPython client: deflate with a 2^9 window, then micropython-lib's tarfile, which
    reads only the 100-byte name and the size of each 512-byte header, takes a name ending in
    `/` for a directory (skipped), skips names containing `@PaxHeader`, and writes every other
    member to its name minus the first two characters."""
    inflater = zlib.decompressobj(9)
    tar_bytes = inflater.decompress(archive) + inflater.flush()
    files = {}
    offset = 0
    while offset + 512 <= len(tar_bytes):
        header = tar_bytes[offset : offset + 512]
        name = header[:100].rstrip(b"\0").decode("utf-8")
        if not name:
            break
        size = int(header[124:136].rstrip(b"\0 ") or b"0", 8)
        body = tar_bytes[offset + 512 : offset + 512 + size]
        offset += 512 + (size + 511) // 512 * 512
        if name.endswith("/") or "@PaxHeader" in name:
            continue
        files[name[2:]] = body
    return files


def files_under(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in root.rglob("*")
        if path.is_file()
    }
