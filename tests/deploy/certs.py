"""Throwaway certificates for the deploy tests (cryptography, as moto has it): keys of every type ACM
imports, certificates issued by a test CA, PEM bytes."""
import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID


def new_key(kind):
    if kind.startswith("RSA_"):
        return rsa.generate_private_key(public_exponent=65537, key_size=int(kind[4:]))
    return ec.generate_private_key({"EC_prime256v1": ec.SECP256R1(), "EC_secp384r1": ec.SECP384R1()}[kind])


def make_cert(name, key, issuer_name=None, issuer_key=None, ca=False, sans=None):
    now = datetime.datetime.now(datetime.timezone.utc)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer_name or subject)
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if not ca:
        b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in (sans or [name])]),
                            critical=False)
    return b.sign(issuer_key or key, hashes.SHA256())


def pem(obj):
    if isinstance(obj, x509.Certificate):
        return obj.public_bytes(serialization.Encoding.PEM)
    return obj.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


class TestCA:
    """A root and an intermediate; leaf(kind, names) writes DIR/<tag>.{crt,key,full} (full: the leaf then
    the intermediate, as certbot's fullchain.pem) and returns the base path."""

    def __init__(self, directory, name="nearjs test"):
        self.dir = directory
        self.root_key = new_key("EC_prime256v1")
        self.root = make_cert(name + " root", self.root_key, ca=True)
        self.int_key = new_key("EC_prime256v1")
        self.inter = make_cert(name + " intermediate", self.int_key, self.root.subject, self.root_key, ca=True)
        self.n = 0
        self.tag = name.replace(" ", "-")

    def leaf(self, kind, names):
        self.n += 1
        key = new_key(kind)
        cert = make_cert(names[0], key, self.inter.subject, self.int_key, sans=names)
        base = "%s/%s-leaf-%d-%s" % (self.dir, self.tag, self.n, kind)
        for suffix, data in (("crt", pem(cert)), ("key", pem(key)), ("full", pem(cert) + pem(self.inter)),
                             ("inter", pem(self.inter))):
            with open("%s.%s" % (base, suffix), "wb") as f:
                f.write(data)
        return base
