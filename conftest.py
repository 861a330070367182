"""Scenario fixtures live in fixtures/, one module per concept:
cloud (settings, target, clients, datastore), instances (shared instance and
factory), data (native-client probes), accounts (databases and users on the
shared instance), resources (backups, configuration groups, fault
injection), modules (Trove modules), clusters (clusters and their members),
upgrade (what the upgrade-survival phases keep past a run)."""

pytest_plugins = [
    "fixtures.cloud",
    "fixtures.instances",
    "fixtures.data",
    "fixtures.accounts",
    "fixtures.resources",
    "fixtures.modules",
    "fixtures.clusters",
    "fixtures.upgrade",
]
