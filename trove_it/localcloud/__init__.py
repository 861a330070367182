"""The embedded local cloud.

The real Trove API and task manager (from PyPI) run in one child process
(``server``), with this package's own services plugged in through Trove's
``remote_*_client`` options (``trove_clients``). Read it by layer:

- ``endpoints/``: the HTTP services beside Trove's API on the same port:
  identity (keystone, with its admin API), compute, network, volume, image,
  object store, key manager (Barbican) and the control endpoint for fault
  injection;
- ``drivers/``: the nova, cinder, neutron, glance, swift and Barbican
  stand-ins that Trove (and the endpoints) drive;
- ``guest/``: each instance's guest agent, which Trove calls as its guest
  API and which reports through Trove's own conductor code;
- ``engines/``: the database servers behind the guests (MariaDB,
  PostgreSQL, Redis processes, or an in-memory stand-in);
- ``lifecycle/``: starting, finding and stopping a cloud (launcher,
  processes, state layout, config, database bootstrap) and the server
  process's adjustments to Trove (poll pace, SQLite pool, copies over the
  in-process RPC).

``runtime`` builds the drivers and guests and hands each its collaborators;
only the entry points Trove and paste call by name look it up.

Modules that import Trove (everything the server process loads) must only be
imported inside that process; the lifecycle modules and ``identity`` are safe
to import anywhere.
"""
