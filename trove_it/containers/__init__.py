"""Container images Trove 26's guest agent runs, built here from Debian packages.

Trove's agent runs the database from ``[<manager>] docker_image:<version>``
and its backups from ``backup_docker_image:<version>``. Those images usually
come from a container registry; this machine reaches none, so each is built
from Debian's archive (a minbase root file system plus the server or backup
packages), with an entrypoint and health check of this project's own that
implement the contract the agent relies on (``files/``), and written as a
``docker save`` archive without a Docker engine.

- ``recipes``: what goes into each image and how it starts;
- ``rootfs``: the root file system, from a cached minbase bootstrap;
- ``archive``: the ``docker save`` archive of a root file system;
- ``build``: the cached archive for a recipe (``trove-it image container-archive``);
- ``push``: an archive into a registry over its HTTP API.
"""
