"""The guest: what runs "inside" each instance of the local cloud.

``agent.guest_client`` replaces Trove's guest-agent RPC client; each call
lands on the instance's ``GuestVM``, which owns the engine process and
reports status and backups through Trove's real conductor code in process.
"""
