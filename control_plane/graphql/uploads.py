"""Files uploaded by the GraphQL multipart request spec (`Upload` arguments)."""

from typing import BinaryIO

from starlette.datastructures import UploadFile
from strawberry.file_uploads import Upload

from control_plane.graphql.errors import graphql_error
from control_plane.services.errors import InputValidationError


def uploaded_file(upload: Upload) -> BinaryIO:
    """The uploaded file; a value sent as plain JSON instead of a multipart file is refused."""
    if not isinstance(upload, UploadFile):
        raise graphql_error(
            InputValidationError(
                "file: not a file (send it as a multipart request: "
                "https://github.com/jaydenseric/graphql-multipart-request-spec)"
            )
        )
    return upload.file
