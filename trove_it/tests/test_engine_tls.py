"""TLS on the real engines, as Trove's guest sets it per mode: basic offers
TLS, enforced requires it, mtls requires a client certificate; PostgreSQL
reloads, MariaDB restarts. Certificates are made here, as the plugin makes
them: a CA, a server certificate for the instance's address, a client
certificate whose CN is the user."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from trove_it.localcloud.engines.base import Database, EngineContext, TlsSettings, User
from trove_it.localcloud.engines.host import engine_templates, unprivileged_user
from trove_it.tests.conftest import require_engine

USER, PASSWORD, DB = "tls_user", "PassW0rd-tls", "tlsdb"


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem_key(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption()).decode()


def _cert(subject: str, key: rsa.RSAPrivateKey, issuer: x509.Name,
          issuer_key: rsa.RSAPrivateKey, ca: bool = False, ip: str | None = None
          ) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
               .issuer_name(issuer).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ip:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]),
            critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


class Bundle:
    """A CA, a server certificate for ``address`` and a client certificate."""

    def __init__(self, address: str, directory: Path):
        ca_key, server_key, client_key = _key(), _key(), _key()
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "trove-it test CA")])
        ca = _cert("trove-it test CA", ca_key, ca_name, ca_key, ca=True)
        server = _cert(address, server_key, ca_name, ca_key, ip=address)
        client = _cert(USER, client_key, ca_name, ca_key)
        pem = serialization.Encoding.PEM
        self.files = {"private_key": _pem_key(server_key),
                      "certificate": server.public_bytes(pem).decode(),
                      "ca": ca.public_bytes(pem).decode()}
        self.ca = directory / "ca.pem"
        self.ca.write_text(self.files["ca"])
        self.client_cert = directory / "client.pem"
        self.client_cert.write_text(client.public_bytes(pem).decode())
        self.client_key = directory / "client.key"
        self.client_key.write_text(_pem_key(client_key))

    def context(self, client_cert: bool = False) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.ca))
        if client_cert:
            context.load_cert_chain(str(self.client_cert), str(self.client_key))
        return context


def _engine_context(root: Path, address: str) -> EngineContext:
    return EngineContext(instance_id="selftest-tls", root=root, address=address,
                         templates=engine_templates(), run_as=unprivileged_user(), server_id=9)


# ----------------------------------------------------------------- MariaDB
def _mysql(address: str, bundle: Bundle | None, client_cert: bool = False,
           password: str | None = PASSWORD) -> str:
    """Connect as the user; returns the session's cipher ('' without TLS)."""
    import pymysql

    kwargs: dict[str, object] = {"ssl_disabled": True}
    if bundle is not None:
        tls = {"ca": str(bundle.ca), "check_hostname": True}
        if client_cert:
            tls.update(cert=str(bundle.client_cert), key=str(bundle.client_key))
        kwargs = {"ssl": tls}
    conn = pymysql.connect(host=address, port=3306, user=USER, password=password or "",
                           database=DB, connect_timeout=5, **kwargs)
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
            row = cur.fetchone()
        return str(row[1]) if row else ""
    finally:
        conn.close()


def test_mariadb_tls_modes(engine_root: Path, tmp_path: Path) -> None:
    require_engine("mariadb")
    import pymysql

    from trove_it.localcloud.engines.mariadb import MariaDBEngine

    address = "127.93.0.21"
    bundle = Bundle(address, tmp_path)
    engine = MariaDBEngine(_engine_context(engine_root, address))
    engine.initialize()
    engine.start()
    try:
        engine.create_database(Database(DB))
        engine.create_user(User(USER, "%", PASSWORD, [DB]))
        assert engine.tls_status() == (False, None)
        # basic: TLS offered after the restart Trove asks for; plain still allowed
        assert engine.enable_tls(TlsSettings(bundle.files, "basic")) is True
        engine.restart()
        assert engine.tls_status() == (True, bundle.files["certificate"])
        assert _mysql(address, bundle) and _mysql(address, None) == ""
        # enforced: the account REQUIREs SSL
        engine.enable_tls(TlsSettings(bundle.files, "enforced"))
        with pytest.raises(pymysql.err.OperationalError):
            _mysql(address, None)
        assert _mysql(address, bundle)
        # mtls: a client certificate as well as the password
        engine.enable_tls(TlsSettings(bundle.files, "mtls"))
        with pytest.raises(pymysql.err.OperationalError):
            _mysql(address, bundle)
        assert _mysql(address, bundle, client_cert=True)
        # MySQL's guest also refuses plain TCP outright
        engine.enable_tls(TlsSettings(bundle.files, "basic", require_secure_transport=True))
        engine.restart()
        assert engine.read_setting("require_secure_transport") in ("ON", "1")
        with pytest.raises(pymysql.err.OperationalError):
            _mysql(address, None)
        assert _mysql(address, bundle)
        # disable: no TLS after the restart
        assert engine.disable_tls() is True
        engine.restart()
        assert engine.tls_status() == (False, None)
        assert _mysql(address, None) == ""
    finally:
        engine.destroy()


# -------------------------------------------------------------- PostgreSQL
def _pg(address: str, bundle: Bundle | None, client_cert: bool = False,
        password: str | None = PASSWORD) -> bool:
    """Connect as the user; returns whether the session runs over TLS."""
    import pg8000.native

    conn = pg8000.native.Connection(
        user=USER, password=password, host=address, port=5432, database=DB, timeout=5,
        ssl_context=bundle.context(client_cert) if bundle is not None else False)
    try:
        return bool(conn.run("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")[0][0])
    finally:
        conn.close()


def test_postgresql_tls_modes(engine_root: Path, tmp_path: Path) -> None:
    require_engine("postgresql")
    import pg8000.native

    from trove_it.localcloud.engines.postgresql import PostgreSQLEngine

    address = "127.93.0.22"
    bundle = Bundle(address, tmp_path)
    engine = PostgreSQLEngine(_engine_context(engine_root, address))
    engine.initialize()
    engine.start()
    try:
        engine.create_database(Database(DB))
        engine.create_user(User(USER, None, PASSWORD, [DB]))
        # basic: reloaded, no restart; TLS and plain both work
        assert engine.enable_tls(TlsSettings(bundle.files, "basic")) is False
        assert engine.tls_status() == (True, bundle.files["certificate"])
        assert _pg(address, bundle) is True and _pg(address, None) is False
        # enforced: hostssl only
        engine.enable_tls(TlsSettings(bundle.files, "enforced"))
        with pytest.raises(pg8000.exceptions.DatabaseError):
            _pg(address, None)
        assert _pg(address, bundle) is True
        # mtls: the certificate authenticates (its CN is the user), no password
        engine.enable_tls(TlsSettings(bundle.files, "mtls"))
        with pytest.raises(pg8000.exceptions.DatabaseError):
            _pg(address, bundle)
        assert _pg(address, bundle, client_cert=True, password=None) is True
        # disable: the server refuses TLS, plain works again
        assert engine.disable_tls() is False
        assert engine.tls_status() == (False, None)
        with pytest.raises(pg8000.exceptions.InterfaceError):
            _pg(address, bundle)
        assert _pg(address, None) is False
    finally:
        engine.destroy()
