"""Loading the PEM chains (leaf first) and keys of the suite's fixtures."""
from cryptography import x509
from cryptography.hazmat.primitives import serialization


def load_chain(path):
    with open(path, "rb") as f:
        return x509.load_pem_x509_certificates(f.read())


def load_key(path):
    with open(path, "rb") as f:
        return serialization.load_pem_private_key(f.read(), password=None)
