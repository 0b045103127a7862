"""Where a registry's git transfers may go, checked right before each transfer.

- `file://` repositories only under the directories the operator lists, never inside the
  platform's own data, clones or code.
- `http(s)://` hosts resolved here, every address public unless the operator allows private
  ones; the addresses checked are the ones git uses (pinned with `http.curloptResolve`, so the
  name cannot resolve elsewhere in between), redirects are not followed, and the host must
  accept a connection within the connect timeout (unless a proxy named in the environment
  connects for git).
"""

import ipaddress
import os
import socket
import threading
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pepeunit_core.settings import Settings

from .git_errors import GitUnavailableError

_DEFAULT_PORTS = {"https": 443, "http": 80}
_CODE_ROOT = Path(__file__).resolve().parents[3]
"""The checkout (or site-packages) holding the platform's own code."""
ALLOW_PRIVATE_SETTING = "PU_REGISTRY_ALLOW_PRIVATE_ADDRESSES"
FILE_ROOTS_SETTING = "PU_REGISTRY_FILE_ROOTS"


class RemoteNotAllowedError(ValueError):
    """The operator's settings forbid this registry URL; the message names it and why."""


@dataclass(frozen=True)
class RemotePolicy:
    file_roots: tuple[Path, ...]
    forbidden_dirs: tuple[Path, ...]
    allow_private_addresses: bool
    connect_timeout: float

    @classmethod
    def from_settings(cls, settings: Settings) -> "RemotePolicy":
        return cls(
            file_roots=tuple(Path(os.path.realpath(root)) for root in settings.registry_file_roots),
            forbidden_dirs=tuple(
                Path(os.path.realpath(directory))
                for directory in (settings.data_dir, settings.resolved_repo_path, _CODE_ROOT)
            ),
            allow_private_addresses=settings.registry_allow_private_addresses,
            connect_timeout=settings.registry_git_connect_timeout,
        )


@dataclass(frozen=True)
class RemoteTarget:
    """How git must reach a remote that passed the checks."""

    resolve: tuple[str, ...] = ()
    """`http.curloptResolve` entries (`host:port:address`)."""
    follow_redirects: bool = True


def check_file_url(url: str, policy: RemotePolicy) -> None:
    """Raise `RemoteNotAllowedError` unless the file:// `url` lies under an allowed root."""
    path = Path(os.path.realpath(unquote(urlsplit(url).path)))
    if not policy.file_roots:
        raise RemoteNotAllowedError(
            f"Registry URL {url} is refused: file:// repositories are allowed only under the "
            f"directories an operator lists in {FILE_ROOTS_SETTING}, and none is listed"
        )
    if not any(path.is_relative_to(root) for root in policy.file_roots):
        raise RemoteNotAllowedError(
            f"Registry URL {url} is refused: it is outside the directories allowed for "
            f"file:// repositories ({FILE_ROOTS_SETTING})"
        )
    if any(
        path.is_relative_to(directory) or directory.is_relative_to(path)
        for directory in policy.forbidden_dirs
    ):
        raise RemoteNotAllowedError(
            f"Registry URL {url} is refused: it points into the platform's own data or code"
        )


def prepare_remote(url: str, policy: RemotePolicy) -> RemoteTarget:
    """Check that git may reach `url` now; say how it must."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "file":
        check_file_url(url, policy)
        return RemoteTarget()
    host = parts.hostname or ""
    port = parts.port or _DEFAULT_PORTS.get(scheme, 443)
    addresses = _resolve(url, host, port, policy.connect_timeout)
    if not policy.allow_private_addresses:
        for address in addresses:
            reason = _non_public_reason(address)
            if reason is not None:
                raise RemoteNotAllowedError(
                    f"Registry URL {url} is refused: {host} resolves to {address}, {reason} "
                    f"(an operator may allow such addresses with {ALLOW_PRIVATE_SETTING})"
                )
    follow_redirects = policy.allow_private_addresses
    if _through_proxy(scheme, host):
        # The proxy connects, not git: nothing to pin or to try from here.
        return RemoteTarget(follow_redirects=follow_redirects)
    connected = _first_connecting(url, addresses, port, policy.connect_timeout)
    pinned = f"[{connected}]" if ":" in connected else connected
    return RemoteTarget(resolve=(f"{host}:{port}:{pinned}",), follow_redirects=follow_redirects)


def _through_proxy(scheme: str, host: str) -> bool:
    """Whether git (curl) reaches `host` through a proxy named in the environment."""
    proxies = urllib.request.getproxies_environment()
    if not (proxies.get(scheme) or proxies.get("all")):
        return False
    return not urllib.request.proxy_bypass_environment(host, proxies)


def _resolve(url: str, host: str, port: int, timeout: float) -> list[str]:
    """The host's addresses; the system resolver has no timeout of its own, so it runs in a
    thread that is given up on (it ends with the resolver's own retries)."""
    outcome: list[list[str] | BaseException] = []

    def lookup() -> None:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            outcome.append(list(dict.fromkeys(str(info[4][0]) for info in infos)))
        except OSError as error:
            outcome.append(error)

    thread = threading.Thread(target=lookup, name="pepeunit-registry-dns", daemon=True)
    thread.start()
    thread.join(timeout)
    if not outcome:
        raise GitUnavailableError(f"Repository {url}: {host} did not resolve within {timeout:g} s")
    result = outcome[0]
    if isinstance(result, BaseException) or not result:
        raise GitUnavailableError(f"Repository {url} could not be reached: {host} does not resolve")
    return result


def _non_public_reason(address: str) -> str | None:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_unspecified:
        return "not a public address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_private:
        return "a private address"
    if not ip.is_global:
        return "not a public address"
    return None


def _first_connecting(url: str, addresses: list[str], port: int, timeout: float) -> str:
    for address in addresses:
        try:
            with socket.create_connection((address, port), timeout=timeout):
                return address
        except OSError:
            continue
    raise GitUnavailableError(
        f"Repository {url} could not be reached: no connection to port {port} within {timeout:g} s"
    )
