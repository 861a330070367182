"""Scenario fixtures live in fixtures/, one module per concept."""

pytest_plugins = [
    "fixtures.cloud",
    "fixtures.instances",
]
