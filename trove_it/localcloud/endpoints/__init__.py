"""HTTP endpoints served beside Trove's API on the cloud's one port.

Each is a paste app mounted in the server's ``versioned_urlmap``: identity
(keystone v3 with its admin API), compute (nova flavors, servers, zones),
network (neutron: networks, subnets, the router, ports, floating IPs,
security groups), volume (cinder volumes, types), image (glance v2), object
store (swift), key manager (Barbican v1 secrets and consumers) and
``/_trove_it`` (fault injection, guest logs).
"""
