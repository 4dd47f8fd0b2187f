"""TLS for the clusters gmat-sweep-dask starts, and a warning for plain ones it joins.

A Dask scheduler runs whatever code a connected client sends, on its workers, as the
workers' owner. Every cluster started here therefore gets credentials made for this
sweep alone (distributed's ``Security.temporary()``: a fresh 2048-bit key and a
self-signed certificate that is its own CA): the scheduler, the workers and the driver's
client must all present that certificate (mutual TLS), so a process without it cannot
connect, let alone submit work. The credentials live in memory; only the workers of a
dask-jobqueue cluster, which start on other machines, read them from files in a private
directory (mode 0700, files 0600) that is removed when the cluster closes.

``gmat-sweep-dask.insecure`` (or ``--insecure``) turns this off for networks the user
trusts. A cluster the user brings (``client=``, ``--scheduler``) is used as it is; joining
one over plain TCP on another host warns once (:class:`InsecureSchedulerWarning`).
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import sys
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from gmat_sweep_dask import config
from gmat_sweep_dask.errors import UsageError

CREDENTIALS_PREFIX = ".gmat-sweep-dask-tls-"


class InsecureSchedulerWarning(UserWarning):
    """The sweep joins a scheduler on another host without encryption or authentication."""


def wanted(insecure: bool | None = None) -> bool:
    """Whether a cluster started here uses TLS: ``insecure`` if given, else the config."""
    return not config.get("insecure", insecure)


def temporary() -> Any:
    """Fresh credentials for one cluster (``distributed.security.Security``), in memory.

    Raises:
        UsageError: the ``cryptography`` package, needed to make them, is missing.
    """
    from distributed.security import Security

    try:
        return Security.temporary()
    except ImportError:
        raise UsageError(
            "TLS credentials for the cluster need the cryptography package: "
            "pip install cryptography (or run with --insecure)"
        ) from None


@contextmanager
def worker_files(security: Any, parent: Path) -> Iterator[Any]:
    """Hand ``security``'s worker credentials to workers on other hosts through files.

    Writes the CA certificate, the worker certificate and the worker key into a new
    directory ``parent/.gmat-sweep-dask-tls-*`` (mode 0700, files 0600, whatever the
    umask) and yields a ``Security`` whose CA and worker role name those files, the
    scheduler and client roles staying in memory. ``parent`` must be visible to the
    workers at the same path. On exit the directory is removed, and so is ``parent`` (and
    any of its ancestors) if this call created it and it is still empty.
    """
    from distributed.security import Security

    parent = Path(os.path.abspath(parent))
    created = _make_dirs(parent)
    try:
        folder = Path(tempfile.mkdtemp(prefix=CREDENTIALS_PREFIX, dir=parent))
        try:
            ca = _write_private(folder / "ca.pem", security.tls_ca_file)
            cert = _write_private(folder / "worker.pem", security.tls_worker_cert)
            key = _write_private(folder / "worker.key", security.tls_worker_key)
            yield Security(
                require_encryption=True,
                tls_ca_file=ca,
                tls_client_cert=security.tls_client_cert,
                tls_client_key=security.tls_client_key,
                tls_scheduler_cert=security.tls_scheduler_cert,
                tls_scheduler_key=security.tls_scheduler_key,
                tls_worker_cert=cert,
                tls_worker_key=key,
            )
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    finally:
        for directory in reversed(created):
            try:
                directory.rmdir()
            except OSError:  # something else was written there: it stays
                break


def warn_if_plain(address: str, insecure: bool | None = None) -> None:
    """Warn (once per address) when joining ``address`` is unencrypted and off this host.

    Nothing is said for ``tls://`` addresses, for loopback hosts, or when the user opted
    out of TLS (``insecure`` / ``gmat-sweep-dask.insecure``).
    """
    from distributed.comm import parse_address, parse_host_port

    if not wanted(insecure):
        return
    scheme, location = parse_address(address)
    if scheme in ("tls", "inproc"):
        return
    host = parse_host_port(location)[0] if location else ""
    if is_loopback(host):
        return
    warnings.warn(
        f"scheduler {address} is neither encrypted nor authenticated: anyone who can reach "
        "it can run code on its workers as their owner (use tls:// with --tls-* files; "
        "see docs/security.md)",
        InsecureSchedulerWarning,
        stacklevel=4,
    )


@contextmanager
def one_line_warnings() -> Iterator[None]:
    """Within, an :class:`InsecureSchedulerWarning` shows as one line on stderr,
    ``gmat-sweep-dask: warning: ...`` (the command line's form); other warnings as before.
    """
    with warnings.catch_warnings():
        fallback = warnings.showwarning

        def show(message: Any, category: type[Warning], *args: Any, **kwargs: Any) -> None:
            if issubclass(category, InsecureSchedulerWarning):
                print(f"gmat-sweep-dask: warning: {message}", file=sys.stderr)
            else:
                fallback(message, category, *args, **kwargs)

        warnings.showwarning = show
        yield


def is_loopback(host: str) -> bool:
    """Whether every address ``host`` resolves to is a loopback address."""
    try:
        infos = socket.getaddrinfo(host, None)
    except (OSError, UnicodeError):
        return False
    addresses = {info[4][0].split("%")[0] for info in infos}
    return bool(addresses) and all(ipaddress.ip_address(a).is_loopback for a in addresses)


def _write_private(path: Path, pem: str) -> str:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(pem)
    return str(path)


def _make_dirs(path: Path) -> list[Path]:
    """Create ``path`` and missing ancestors; return those created, outermost first."""
    missing = []
    for candidate in (path, *path.parents):
        if candidate.exists():
            break
        missing.append(candidate)
    for directory in reversed(missing):
        directory.mkdir(exist_ok=True)
    return list(reversed(missing))
