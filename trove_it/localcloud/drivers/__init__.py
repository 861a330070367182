"""The services Trove's task manager drives: nova, cinder, neutron, glance, swift.

Each driver keeps its state in memory for the server process's lifetime and
offers the client surface Trove calls (see ``trove_clients``); the compute
driver tells the guests when a server boots, reboots, resizes or goes.
"""
