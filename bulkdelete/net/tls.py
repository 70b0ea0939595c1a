"""Which certificates the run trusts: the operating system's store, plus ``--ca-bundle``, ``SSL_CERT_FILE``,
``REQUESTS_CA_BUNDLE`` (and ``SSL_CERT_DIR``). Nothing turns verification off.

- macOS and Windows: ``truststore.SSLContext`` (as pip does), which asks the platform's own verifier, so a private CA
  installed in the keychain / certificate store by IT is trusted with nothing else to configure.
- Linux and other OpenSSL systems: truststore's OpenSSL backend only loads OpenSSL's default verify paths (or the first
  of the distributions' known CA files) into the context, but it does so again before *every* handshake: 27 ms of
  blocking the event loop per new connection here (OpenSSL 3.0, Debian 12: ``wrap_bio`` 27 ms with truststore 0.10.5
  against 0.005 ms with a plain context, measured), and on OpenSSL 3.0-3.3 each call adds another lookup to the
  store (sethmlarson/truststore#212). We load the same locations once into a standard ``ssl.SSLContext`` instead.
- Extra CA files are *added* to that trust (``load_verify_locations``), never replace it: a proxy that inspects TLS
  with a corporate CA and the public API behind it both verify.

A certificate that does not verify stops the run (``UntrustedCertificate``, exit 3): see ``describe_cert_error``.
"""

from __future__ import annotations

import os
import re
import ssl
import sys
from collections.abc import Mapping

from bulkdelete.errors import ConfigError, UntrustedCertificate

EXTRA_CA_VARIABLES = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")
# The CA files truststore's OpenSSL backend falls back to when OpenSSL's compiled-in paths hold nothing.
CA_FILE_CANDIDATES = (
    "/etc/ssl/cert.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/pki/tls/cert.pem",
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/ssl/ca-bundle.pem",
)
_HASHED_NAME = re.compile(r"^[0-9a-fA-F]{8}\.[0-9]$")


def client_context(ca_bundle: str | None, environ: Mapping[str, str]) -> ssl.SSLContext:
    """The TLS context of every request: OS trust plus the extra CA files; raises ``ConfigError`` on a bad file."""
    context, loaded = _system_context()
    # SSL_CERT_FILE and REQUESTS_CA_BUNDLE often name the same bundle, and that bundle is often the system's own
    # (Debian: /usr/lib/ssl/cert.pem links to /etc/ssl/certs/ca-certificates.crt): each file is loaded once, ~18 ms
    # of start-up per load of Debian's bundle (measured).
    seen = {os.path.realpath(path) for path in loaded}
    for origin, path in _extra_ca_files(ca_bundle, environ):
        real = os.path.realpath(path)
        if real in seen:
            continue
        seen.add(real)
        _load(context, origin, path)
    cert_dir = environ.get("SSL_CERT_DIR", "").strip()
    if cert_dir and os.path.isdir(cert_dir) and os.path.realpath(cert_dir) not in seen:
        context.load_verify_locations(capath=cert_dir)
    return context


def _extra_ca_files(ca_bundle: str | None, environ: Mapping[str, str]) -> list[tuple[str, str]]:
    files = [("--ca-bundle", ca_bundle)] if ca_bundle else []
    files += [(name, environ[name].strip()) for name in EXTRA_CA_VARIABLES if environ.get(name, "").strip()]
    return files


def _load(context: ssl.SSLContext, origin: str, path: str) -> None:
    if not os.path.isfile(path):
        raise ConfigError(f"{origin} {path!r}: no such file (a PEM file of CA certificates)")
    try:
        context.load_verify_locations(cafile=path)
    except ssl.SSLError as exc:
        raise ConfigError(f"{origin} {path!r}: not a PEM file of CA certificates ({exc.reason or exc})") from None
    except OSError as exc:
        raise ConfigError(f"{origin} {path!r}: cannot read it ({exc.strerror})") from None


def _system_context() -> tuple[ssl.SSLContext, list[str]]:
    """A context trusting the operating system's store, and the CA files and directories it loaded for that."""
    if sys.platform == "darwin" or sys.platform == "win32":  # spelled so that mypy knows the platform check
        import truststore

        return truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT), []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies the chain and the host name
    # OpenSSL's compiled-in locations, not SSL_CERT_FILE / SSL_CERT_DIR: those are added as extras by the caller, so
    # pointing SSL_CERT_FILE at a private CA adds to the system store instead of replacing it.
    paths = ssl.get_default_verify_paths()
    cafile = paths.openssl_cafile if os.path.isfile(paths.openssl_cafile) else None
    capath = paths.openssl_capath if _holds_hashed_certs(paths.openssl_capath) else None
    if cafile or capath:
        context.load_verify_locations(cafile=cafile, capath=capath)
        return context, [path for path in (cafile, capath) if path]
    for candidate in CA_FILE_CANDIDATES:
        if os.path.isfile(candidate):
            context.load_verify_locations(cafile=candidate)
            return context, [candidate]
    return context, []


def _holds_hashed_certs(capath: str) -> bool:
    return os.path.isdir(capath) and any(_HASHED_NAME.match(name) for name in os.listdir(capath))


def describe_cert_error(exc: BaseException, host: str, port: int | None) -> UntrustedCertificate:
    """The run-wide refusal for a certificate that did not verify: host, OpenSSL's reason, and what to do.

    ``exc`` is normally an ``ssl.SSLCertVerificationError``, whose ``verify_message`` is OpenSSL's reason
    (``unable to get local issuer certificate``, ``Hostname mismatch, …``).
    """
    reason = getattr(exc, "verify_message", None) or getattr(exc, "reason", None) or str(exc)
    where = f"{host}:{port}" if port else host
    return UntrustedCertificate(
        f"the TLS certificate of {where} is not trusted (certificate verify failed: {reason}). If {host} uses a "
        "private or corporate CA (or a proxy that inspects TLS), pass that CA's certificate with --ca-bundle FILE "
        "(PEM); SSL_CERT_FILE and REQUESTS_CA_BUNDLE are read too"
    )
