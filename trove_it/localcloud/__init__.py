"""The embedded local cloud.

The real Trove API and task manager (from PyPI) run in one child process.
Compute, volume, network, image, object store and guest are this package's
own drivers, plugged in through Trove's ``remote_*_client`` options, and each
instance's database is a real server process on its own loopback address.

Modules that import Trove (everything the server process loads) must only be
imported inside that process; the launcher, layout and identity modules are
safe to import anywhere.
"""
