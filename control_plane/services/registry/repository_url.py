"""Which repository URLs a registry accepts: `https://host/path.git` by default.

`http://` (a local git server) and `file://` (tests) are accepted only when the caller
explicitly allows them.
"""

from urllib.parse import urlsplit, urlunsplit

HTTPS_ONLY = frozenset({"https"})
WITH_LOCAL_SCHEMES = frozenset({"https", "http", "file"})
MAX_URL_LENGTH = 2000


class InvalidRepositoryUrlError(ValueError):
    """The URL is not one a registry may clone; the message says why."""


def validate_repository_url(url: str, allowed_schemes: frozenset[str] = HTTPS_ONLY) -> str:
    """`url` with its scheme and host lower-cased, if a registry may clone it."""
    if len(url) > MAX_URL_LENGTH:
        raise InvalidRepositoryUrlError(f"The URL is longer than {MAX_URL_LENGTH} characters")
    if any(character.isspace() or not character.isprintable() for character in url):
        raise InvalidRepositoryUrlError("The URL must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (parsing the port is what validates it)
    except ValueError as error:
        raise InvalidRepositoryUrlError("The URL cannot be parsed") from error
    scheme = parts.scheme.lower()
    if scheme not in allowed_schemes:
        accepted = " or ".join(f"{name}://" for name in sorted(allowed_schemes))
        raise InvalidRepositoryUrlError(f"The URL must start with {accepted}")
    if not parts.path.endswith(".git"):
        raise InvalidRepositoryUrlError("The URL must end with .git")
    if parts.query or parts.fragment:
        raise InvalidRepositoryUrlError("The URL must not have a query or a fragment")
    if ".." in parts.path.split("/"):
        raise InvalidRepositoryUrlError("The URL path must not contain '..'")
    if scheme == "file":
        if parts.netloc:
            raise InvalidRepositoryUrlError("A file URL must be file:///absolute/path.git")
    elif not parts.hostname:
        raise InvalidRepositoryUrlError("The URL has no host")
    elif "@" in parts.netloc:
        raise InvalidRepositoryUrlError(
            "The URL must not contain credentials; give them as registry credentials"
        )
    return urlunsplit((scheme, parts.netloc.lower(), parts.path, "", ""))


def url_scheme(url: str) -> str:
    return urlsplit(url).scheme.lower()
