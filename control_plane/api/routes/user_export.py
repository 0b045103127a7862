"""`/users/export` and `/users/import`: a user's own data as one archive, and back on another
instance (docs/user-export.md). REST only: the archive is binary."""

import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Query, UploadFile, status
from fastapi.responses import StreamingResponse

from control_plane.api.deps import ClickHouseDep, ContextDep, CurrentUser, SessionDep
from control_plane.api.error_responses import STORE_ERRORS
from control_plane.api.file_responses import built_path_response, file_response
from control_plane.models.user import UserImportRead
from control_plane.services import user_export

router = APIRouter(prefix="/users", tags=["users"])

MB = 1024 * 1024
ARCHIVE_TYPE = "application/x-tar"


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses=file_response("Your archive (docs/user-export.md).", ARCHIVE_TYPE) | STORE_ERRORS,
)
def export_user(
    user: CurrentUser,
    context: ContextDep,
    session: SessionDep,
    clickhouse: ClickHouseDep,
    include_secrets: Annotated[
        bool,
        Query(description="Also the units' env (their keys, your values) and state storage."),
    ] = False,
) -> StreamingResponse:
    """An archive of what you own: registries you created and those your repos are built on,
    repos, units, their nodes, the edges between them, pipelines as files for `pepeunit
    pipelines apply`, stored rows as CSV, dashboards."""
    return built_path_response(
        lambda path: user_export.export_user(
            session,
            context.settings,
            context.cipher,
            clickhouse,
            user,
            path,
            include_secrets=include_secrets,
        ),
        ARCHIVE_TYPE,
        user_export.export_file_name(user, datetime.now(UTC)),
    )


@router.post("/import", status_code=status.HTTP_201_CREATED, responses=STORE_ERRORS)
def import_user(
    data: Annotated[UploadFile, File(description="The archive, as multipart field `data`.")],
    user: CurrentUser,
    context: ContextDep,
    session: SessionDep,
    clickhouse: ClickHouseDep,
) -> UserImportRead:
    """Recreates an archive of `GET /users/export` under you, with new uuids; an archive that
    is damaged, of a newer format, or that this instance cannot take (a name taken, a
    registry out of reach) is refused, naming why, before anything changes. At most
    PU_MAX_USER_IMPORT_SIZE MB."""
    max_bytes = context.settings.max_user_import_size * MB
    size = data.file.seek(0, 2)
    if size > max_bytes:
        raise user_export.UserArchiveError(
            f"The archive is {size} bytes, larger than the {max_bytes // MB} MB allowed "
            "(PU_MAX_USER_IMPORT_SIZE)"
        )
    data.file.seek(0)
    with tempfile.TemporaryDirectory(prefix="pepeunit-import-") as directory:
        archive = Path(directory) / "archive.tar"
        with archive.open("wb") as file:
            shutil.copyfileobj(data.file, file)
        report = user_export.import_user(
            session, context.settings, context.cipher, clickhouse, user, archive
        )
    return UserImportRead(counts=report.counts, units=report.units, rows=report.rows)
