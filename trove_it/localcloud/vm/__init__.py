"""Real guests for the vm profile: what a vm local cloud runs beside its server.

Its own RabbitMQ node (``rabbit``), a network namespace with the tenant
bridge and a tap per guest (``netns``), a relay from the subnet's gateway to
the host's loopback (``gateway``), a container registry (``registry``), all
started and stopped together (``services``); and the hypervisor that boots
each nova server under QEMU (``hypervisor``, ``machine``, ``config_drive``,
``qmp``) and follows its console and agent log (``boot_watch``).
"""
