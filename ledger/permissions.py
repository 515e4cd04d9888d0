"""Who may do what: the four roles of a merchant's team and the actions each may take.

The one table of the product's permissions. The portal maps each of its routes to one action
(portal/access.py) and refuses the roles that lack it; the command line sets a user's role.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    OWNER = "owner"  # everything
    ACCOUNTANT = "accountant"  # money, bank, reports, and the dunning a clerk does
    CLERK = "clerk"  # view, remind, block, claims, notes: no money changes
    VIEWER = "viewer"  # read only


class Action(StrEnum):
    VIEW = "view"  # every page, the rules' check and previews (they change nothing)
    DUNNING = "dunning"  # remind, block and unblock, mark overdue, cancel, resend a message
    MONEY = "money"  # mark paid, refunds, reactivate a paid cancelled order, write-offs
    BANK = "bank"  # import statements, assign, split or set aside payments
    RUNS = "runs"  # start a daily run now
    REPORTS = "reports"  # the audit log and the exports
    RULES_EDIT = "rules_edit"  # save a rules draft
    RULES_ACTIVATE = "rules_activate"  # make a version the active rules
    ERASE = "erase"  # erase a customer's data
    USERS = "users"  # invite, change roles, deactivate
    SETTINGS = "settings"  # company, bank accounts, sender, webhook, API tokens


_DUNNING = {Action.VIEW, Action.DUNNING}
_ACCOUNTANT = _DUNNING | {
    Action.MONEY,
    Action.BANK,
    Action.RUNS,
    Action.RULES_EDIT,
    Action.REPORTS,
}

PERMISSIONS: dict[Role, frozenset[Action]] = {
    Role.OWNER: frozenset(Action),
    Role.ACCOUNTANT: frozenset(_ACCOUNTANT),
    Role.CLERK: frozenset(_DUNNING),
    Role.VIEWER: frozenset({Action.VIEW}),
}

ROLES = [role.value for role in Role]


def allowed(role: str | None, action: Action) -> bool:
    """Whether a user with `role` may take `action` (an unknown role may do nothing)."""
    try:
        return action in PERMISSIONS[Role(role)]
    except ValueError:
        return False
