"""`--probe-ca FILE`: an operator's own CA certificates, trusted for outbound connections.

An operator who lets the probe reach an internal webhook server (`--probe-allow`)
often has that server's certificate signed by an internal CA that certifi's bundle
does not hold. The file is read once through the one reader (`auditor.files`: a
regular file, at most `MAX_CA_BYTES`), checked to hold PEM certificates and no
private key, and kept as text: the outbound policy trusts it *in addition to*
certifi's bundle (a hierarchy's webhooks are mostly public, and those must stay
verifiable in the same run), for the probe and notifier connections only; the
Twilio API client never uses it.
"""

from __future__ import annotations

import ssl
from pathlib import Path

from auditor.errors import AuditorError
from auditor.files import FileRefused, read_text

MAX_CA_BYTES = 4 * 1024 * 1024  # certifi's whole bundle is ~0.3 MB
_BEGIN_CERT = "-----BEGIN CERTIFICATE-----"
_PRIVATE_KEY = "PRIVATE KEY-----"


def load_ca_bundle(path: Path | str, option: str = "--probe-ca") -> str:
    """The PEM text of `path`'s CA certificates; AuditorError (exit 2), one line, if not."""
    try:
        text = read_text(path, MAX_CA_BYTES)
    except FileRefused as exc:
        raise AuditorError(f"{option} {exc}; pass a PEM file of CA certificates") from None
    if _PRIVATE_KEY in text:
        raise AuditorError(
            f"{option} {path}: the file holds a private key; pass the CA certificates only "
            "(the key is never needed to trust a server)"
        )
    if _BEGIN_CERT not in text:
        raise AuditorError(
            f"{option} {path}: no PEM certificate in it (no '{_BEGIN_CERT}' line); pass the "
            "CA certificates in PEM form (openssl x509 -in ca.der -inform der -out ca.pem)"
        )
    try:
        count = ca_count(text)
    except (ssl.SSLError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or type(exc).__name__
        raise AuditorError(
            f"{option} {path}: not a readable PEM certificate bundle ({reason}); pass the CA "
            "certificates in PEM form"
        ) from None
    if count == 0:
        raise AuditorError(f"{option} {path}: no certificate could be read from it")
    return text


def ca_count(pem: str) -> int:
    """How many certificates `pem` holds, as OpenSSL reads them (raises ssl.SSLError)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cadata=pem)
    return int(context.cert_store_stats()["x509"])
