"""HTTP endpoints served beside Trove's API on the cloud's one port.

Each is a paste app mounted in the server's ``versioned_urlmap``: identity
(a small keystone v3), compute (nova flavors, servers, zones), network (a
read-only neutron: networks, subnets and ports), volume (a read-only cinder:
volumes and types), image (glance v2), object store
(swift) and ``/_trove_it`` (fault injection, guest logs).
"""
