"""Who is calling a local endpoint: the account behind the request's token.

Every local service (identity's admin API included) answers a missing or
unknown token as keystone does, so they all ask here.
"""

from __future__ import annotations

import webob

from trove_it.localcloud import runtime
from trove_it.localcloud.endpoints.wsgi_json import Unauthorized
from trove_it.localcloud.identity import Account


def authenticated_account(request: webob.Request) -> Account | None:
    """The account behind the request's token, or None."""
    token = runtime.get().tokens.validate(request.headers.get("X-Auth-Token"))
    return token.account if token else None


def required_account(request: webob.Request) -> Account:
    """The request's account, or 401 as keystone answers a missing token."""
    account = authenticated_account(request)
    if account is None:
        raise Unauthorized("The request you have made requires authentication.")
    return account
