"""The guest: what runs "inside" each instance of the local cloud.

``agent.GuestAPI`` replaces Trove's guest-agent RPC client (Trove gets one
from ``trove_clients.guest_client``); each call lands on the instance's
``GuestVM``, which owns the engine process and
reports status and backups through Trove's real conductor code in process.
"""
