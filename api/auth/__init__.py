"""The guarded door: authentication, tenants and scopes, limits and the audit log.

What routes use::

    principal()          who calls (LOCAL when auth is off)
    tenant()             whose resources to list and to stamp on new ones
    visible_run(id)      404 for another tenant's run, as for an unknown one
    check_run(id)        the same check, from memory for a run this process holds
    visible_graph(key)   the same for graphs

Every route's required scope is declared in :mod:`.policy`, applied by
:mod:`.middleware` before the handler runs.
"""

from __future__ import annotations

from . import audit
from .context import (
    access_store,
    check_run,
    declare,
    principal,
    readable,
    stamp,
    state,
    tenant,
    visible_graph,
    visible_run,
)
from .gate import check_auth_settings
from .keys import KeyRing
from .middleware import install_auth
from .policy import PUBLIC, Rule, decision, policy
from .principal import ALL_SCOPES, LOCAL, Principal, Scope, parse_scopes

__all__ = ["ALL_SCOPES", "LOCAL", "PUBLIC", "KeyRing", "audit", "Principal", "Rule", "Scope", "access_store", "check_run", "declare",
           "check_auth_settings", "decision", "install_auth", "keyring", "parse_scopes",
           "policy", "principal", "readable", "stamp", "state", "tenant", "visible_graph",
           "visible_run"]


def keyring() -> KeyRing:
    """The key operations over the serving app's store."""
    return KeyRing(access_store())
