"""Builds the adversary suite's certificates into a folder: the trusted example.org CA, a
federated partner.org CA, a rogue CA, and for each claimed identity one legitimate chain and one
forged chain per attack. Every key is EC P-256; files are PEM (chains leaf first), keys 0600.

    fixtures.py OUT_DIR
"""
import datetime
import os
import subprocess
import sys
import tempfile

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

NOW = datetime.datetime.now(datetime.timezone.utc)
HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)


class Cert:
    def __init__(self, cert, key, chain):
        self.cert = cert
        self.key = key
        # The certificates a peer sends: this one, then its issuers below the root.
        self.chain = chain


def new_key():
    return ec.generate_private_key(ec.SECP256R1())


def build(subject_cn, key, issuer, *, ca, uri=None, not_before=None, not_after=None,
          name_constraints=None):
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject_cn)]))
        .issuer_name(issuer.cert.subject if issuer else x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject_cn)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or NOW - HOUR)
        .not_valid_after(not_after or NOW + DAY)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    signer = issuer.key if issuer else key
    builder = builder.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), critical=False)
    if ca:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        builder = builder.add_extension(
            x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=True,
                          crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
    else:
        builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        builder = builder.add_extension(
            x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=False,
                          crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    if uri:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier(uri)]), critical=False)
    if name_constraints is not None:
        # Non-critical on purpose: the attack is a verifier that ignores non-critical constraints.
        builder = builder.add_extension(name_constraints, critical=False)
    return Cert(builder.sign(signer, hashes.SHA256()), key, [])


def ca_cert(cn, issuer=None, uri=None, **kw):
    key = new_key()
    c = build(cn, key, issuer, ca=True, uri=uri, **kw)
    # A root sends nothing of itself (it is in the bundle); an intermediate sends itself.
    c.chain = [c.cert] if issuer else []
    return c


def leaf(uri, issuer, **kw):
    key = new_key()
    c = build(uri, key, issuer, ca=False, uri=uri, **kw)
    c.chain = [c.cert] + issuer.chain if issuer else [c.cert]
    return c


def self_signed_leaf(uri):
    key = new_key()
    c = build(uri, key, None, ca=False, uri=uri)
    c.chain = [c.cert]
    return c


def sha1_leaf(uri, issuer):
    """A leaf signed with ecdsa-with-SHA1: the Python library refuses to make one, OpenSSL's CLI
    does not."""
    key = new_key()
    with tempfile.TemporaryDirectory() as tmp:
        paths = {n: os.path.join(tmp, n) for n in ("csr", "ca", "cakey", "ext", "out")}
        csr = (x509.CertificateSigningRequestBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, uri)]))
               .sign(key, hashes.SHA256()))
        with open(paths["csr"], "wb") as f:
            f.write(csr.public_bytes(serialization.Encoding.PEM))
        with open(paths["ca"], "w") as f:
            f.write(pem(issuer.cert))
        with open(paths["cakey"], "wb") as f:
            f.write(issuer.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()))
        with open(paths["ext"], "w") as f:
            f.write("basicConstraints=critical,CA:FALSE\n"
                    "keyUsage=critical,digitalSignature\n"
                    "extendedKeyUsage=serverAuth,clientAuth\n"
                    f"subjectAltName=URI:{uri}\n")
        subprocess.run(["openssl", "x509", "-req", "-in", paths["csr"], "-CA", paths["ca"], "-CAkey", paths["cakey"],
                        "-set_serial", "7", "-days", "1", "-sha1", "-extfile", paths["ext"], "-out", paths["out"]],
                       check=True, capture_output=True)
        with open(paths["out"], "rb") as f:
            cert = x509.load_pem_x509_certificate(f.read())
    return Cert(cert, key, [cert] + issuer.chain)


def pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def write(out, name, c):
    with open(os.path.join(out, f"{name}.pem"), "w") as f:
        f.write("".join(pem(x) for x in c.chain) if c.chain else pem(c.cert))
    key_path = os.path.join(out, f"{name}.key")
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(c.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode())


def main(out):
    os.makedirs(out, exist_ok=True)
    # Roots carry their trust domain as a URI SAN, as SPIRE's do (the file sources read it).
    example_root = ca_cert("example.org root", uri="spiffe://example.org")
    partner_root = ca_cert("partner.org root", uri="spiffe://partner.org")
    rogue_root = ca_cert("rogue root")
    example_int = ca_cert("example.org intermediate", example_root)
    expired_int = ca_cert("example.org expired intermediate", example_root,
                          not_before=NOW - 3 * DAY, not_after=NOW - DAY)
    rogue_int = ca_cert("rogue intermediate", rogue_root)
    constrained_int = ca_cert(
        "example.org constrained intermediate", example_root,
        name_constraints=x509.NameConstraints(
            permitted_subtrees=[x509.UniformResourceIdentifier("constrained.example.org")],
            excluded_subtrees=None))

    for name, c in (("example-root", example_root), ("partner-root", partner_root), ("rogue-root", rogue_root)):
        with open(os.path.join(out, f"{name}.pem"), "w") as f:
            f.write(pem(c.cert))

    write(out, "server", leaf("spiffe://example.org/server", example_int))
    write(out, "client", leaf("spiffe://example.org/client", example_int))
    # For the swaps by renegotiation: a self-signed certificate of a privileged ID (a client's), and
    # a valid SVID of an ID the defending clients do not authorize (a server's).
    write(out, "swap-admin", self_signed_leaf("spiffe://example.org/admin"))
    write(out, "other-server", leaf("spiffe://example.org/other", example_int))
    # Forged chains, one per attack, for the ID the defending servers accept (client) and the
    # one the defending clients accept (server): only the chain is wrong.
    for who in ("client", "server"):
        uri = f"spiffe://example.org/{who}"
        write(out, f"swap-{who}", self_signed_leaf(uri))
        write(out, f"untrusted-{who}", leaf(uri, rogue_int))
        write(out, f"expired-{who}", leaf(uri, expired_int))
        write(out, f"federated-{who}", leaf(uri, partner_root))
        write(out, f"nameconstraints-{who}", leaf(uri, constrained_int))
        write(out, f"sha1-{who}", sha1_leaf(uri, example_int))


if __name__ == "__main__":
    main(sys.argv[1])
