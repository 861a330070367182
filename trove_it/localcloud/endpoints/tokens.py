"""Tokens issued by the local identity endpoint, held in the server process."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from trove_it.localcloud.identity import Account

TOKEN_LIFETIME = 12 * 3600


@dataclass(frozen=True)
class Token:
    id: str
    account: Account
    issued_at: float
    expires_at: float
    audit_id: str


class TokenStore:
    def __init__(self) -> None:
        self._tokens: dict[str, Token] = {}

    def issue(self, account: Account) -> Token:
        now = time.time()
        token = Token(
            id="tit" + secrets.token_hex(24),
            account=account,
            issued_at=now,
            expires_at=now + TOKEN_LIFETIME,
            audit_id=secrets.token_urlsafe(16),
        )
        self._tokens[token.id] = token
        return token

    def validate(self, token_id: str | None) -> Token | None:
        if not token_id:
            return None
        token = self._tokens.get(token_id)
        if token is None or token.expires_at < time.time():
            return None
        return token

    def revoke(self, token_id: str) -> None:
        self._tokens.pop(token_id, None)
