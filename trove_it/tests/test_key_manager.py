"""The local cloud's Barbican v1 endpoint, as Barbican's API reference and
python-barbicanclient (what Trove's instance SSL uses) see it: version
discovery offering microversion 1.1, secrets with payloads in their content
type, consumers, and per-project ownership."""

from __future__ import annotations

import base64
import os
from typing import Any

import pytest
import requests
from barbicanclient import client as barbican_client
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

from trove_it.localcloud.identity import cloud_names
from trove_it.localcloud.lifecycle.layout import CloudDescriptor


def _session(cloud: CloudDescriptor, role: str) -> ks_session.Session:
    import yaml

    entry = yaml.safe_load(open(cloud.clouds_yaml))["clouds"][cloud_names(cloud.name)[role]]
    auth = entry["auth"]
    return ks_session.Session(auth=v3.Password(
        auth_url=auth["auth_url"], username=auth["username"], password=auth["password"],
        project_name=auth["project_name"], user_domain_name="Default",
        project_domain_name="Default"))


def _token(session: ks_session.Session) -> dict[str, str]:
    return {"X-Auth-Token": str(session.get_token())}


def _endpoint(session: ks_session.Session) -> str:
    return str(session.get_endpoint(service_type="key-manager", interface="public"))


def test_version_discovery_offers_consumers(selftest_cloud: CloudDescriptor) -> None:
    session = _session(selftest_cloud, "member")
    endpoint = _endpoint(session)
    assert not endpoint.rstrip("/").endswith("/v1"), "the catalogue names the unversioned URL"
    versions = requests.get(endpoint, timeout=30)
    assert versions.status_code == 300
    (version,) = versions.json()["versions"]["values"]
    assert (version["id"], version["status"], version["max_version"]) == \
        ("v1", "CURRENT", "1.1")


def test_secret_payload_and_consumers_through_barbicanclient(
        selftest_cloud: CloudDescriptor) -> None:
    session = _session(selftest_cloud, "member")
    barbican: Any = barbican_client.Client(session=session, endpoint=_endpoint(session))
    payload = os.urandom(300)  # binary, like a PKCS#12 bundle
    secret = barbican.secrets.create(name="bundle", payload=base64.b64encode(payload),
                                     payload_content_type="application/octet-stream",
                                     payload_content_encoding="base64",
                                     secret_type="certificate")
    ref = secret.store()
    password = barbican.secrets.create(name="pw", payload="PassW0rd",
                                       payload_content_type="text/plain").store()
    try:
        fetched = barbican.secrets.get(ref)
        assert fetched.name == "bundle" and fetched.payload == payload
        assert barbican.secrets.get(password).payload == "PassW0rd"
        # what Trove does when an instance takes the certificate, and when it drops it
        barbican.secrets.register_consumer(ref, "database", "instance", "inst-1")
        listed = requests.get(f"{ref}/consumers", timeout=30, headers={
            **_token(session), "OpenStack-API-Version": "key-manager 1.1"})
        assert [(c["service"], c["resource_type"], c["resource_id"])
                for c in listed.json()["consumers"]] == [("database", "instance", "inst-1")]
        barbican.secrets.remove_consumer(ref, "database", "instance", "inst-1")
        listed = requests.get(f"{ref}/consumers", timeout=30,
                              headers=_token(session))
        assert listed.json() == {"consumers": [], "total": 0}
        # another project's user cannot read it
        other = _session(selftest_cloud, "alt_member")
        response = requests.get(ref, timeout=30, headers=_token(other))
        assert response.status_code == 404
    finally:
        barbican.secrets.delete(ref)
        barbican.secrets.delete(password)
    gone = requests.get(ref, timeout=30, headers=_token(session))
    assert gone.status_code == 404


@pytest.mark.parametrize("body, message", [
    ({"payload": "x"}, "payload_content_type"),
    ({"payload": "not base64!", "payload_content_type": "application/octet-stream",
      "payload_content_encoding": "base64"}, "decoding"),
])
def test_bad_secrets_are_400(selftest_cloud: CloudDescriptor, body: dict[str, Any],
                             message: str) -> None:
    session = _session(selftest_cloud, "member")
    response = requests.post(f"{_endpoint(session)}/v1/secrets", json=body, timeout=30,
                             headers=_token(session))
    assert response.status_code == 400 and message in response.text
