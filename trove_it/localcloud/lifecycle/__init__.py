"""Starting, finding and stopping a local cloud, and how its server runs Trove.

The launcher renders the config, restores the bootstrapped Trove database
and starts the server process; ``processes`` makes every child die with its
parent; ``layout`` says where a cloud keeps its files. ``polling`` and
``sqlite_pool`` adjust Trove inside the server process (poll pace, pooled
SQLite connections). Nothing here imports Trove at module level.
"""
