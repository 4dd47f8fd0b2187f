"""Another user's process: try to run code through the Dask scheduler at ADDRESS.

    python tests/cluster/stranger.py ADDRESS

Tries two ways in, each with a 10 s connect timeout, and prints one JSON object mapping
each way to ``"ran"`` (it connected and a submitted task returned) or ``"refused: ..."``:

* ``plain``: an ordinary ``Client("tcp://host:port")``, no credentials at all;
* ``own-cert`` (``tls://`` addresses only): a TLS client that trusts the certificate the
  scheduler presents (anyone can fetch it with a handshake) and shows a key and
  certificate of its own (``Security.temporary()``).

``reachable`` says whether the scheduler answered on its port at all (a TLS handshake for
``tls://``, a TCP connection for ``tcp://``), so a refusal is the scheduler's answer, not
an absent scheduler. Exit code 0 whatever the outcome.
"""

from __future__ import annotations

import json
import socket
import ssl
import sys

from distributed import Client
from distributed.comm import parse_address, parse_host_port
from distributed.security import Security


def presented_certificate(host: str, port: int) -> str:
    """The PEM certificate the TLS server at host:port presents (not verified)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection((host, port), timeout=10) as raw,
        context.wrap_socket(raw) as tls,
    ):
        return ssl.DER_cert_to_PEM_cert(tls.getpeercert(binary_form=True))


def attempt(address: str, security: Security | None) -> str:
    try:
        client = Client(address, security=security, timeout=10, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        return f"refused: {type(exc).__name__}: {str(exc)[:160]}"
    with client:
        return "ran" if client.submit(sum, [20, 22], pure=False).result(timeout=30) == 42 else "?"


def main() -> None:
    address = sys.argv[1]
    scheme, location = parse_address(address)
    host, port = parse_host_port(location)
    outcome: dict[str, object] = {}
    try:
        if scheme == "tls":
            certificate = presented_certificate(host, port)
        else:
            socket.create_connection((host, port), timeout=10).close()
        outcome["reachable"] = True
    except OSError as exc:
        outcome["reachable"] = f"no: {exc}"
    outcome["plain"] = attempt(f"tcp://{location}", None)
    if scheme == "tls" and outcome["reachable"] is True:
        own = Security.temporary()
        trusting = Security(
            require_encryption=True,
            tls_ca_file=certificate,
            tls_client_cert=own.tls_client_cert,
            tls_client_key=own.tls_client_key,
        )
        outcome["own-cert"] = attempt(address, trusting)
    print(json.dumps(outcome), flush=True)


if __name__ == "__main__":
    main()
