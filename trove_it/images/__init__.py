"""Guest images: build them from ``elements/`` with diskimage-builder, inspect
and boot them, and load them into a cloud's Glance and Trove.

One concept per module: ``support`` (which datastore/distro pairs can be
built, from where), ``plan`` (the disk-image-create command for a request),
``build`` (running it without leaving anything behind), ``manifest`` (what
was built), ``inspect``/``checks`` (offline validation), ``boot`` (the QEMU
boot test), ``registry`` (Glance upload and datastore version registration).
"""
