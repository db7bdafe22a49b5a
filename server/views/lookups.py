"""Finding what a page is about, the same way everywhere.

The one rule: a request is refused without telling anything about what it names.

- Reports (branches, chains, visits): look up → 404 → permission. Something the user
  may not see is a 404, whether or not it exists; something they may see but not act
  on is a 403.
- The programme's pages (``/admin/…``, ``programme.manage``): the permission decides
  first, so every other role gets 403 for any id, existing or not; an admin gets 404 for
  an id that does not exist. ``tests/test_permissions.py`` holds both, for every route.
"""

from __future__ import annotations

from starlette.requests import Request

from .. import auth
from ..db import Database
from ..errors import ApiError
from ..i18n import _
from ..models import Branch, Chain, User
from ..queries import chains


async def visible_branch(request: Request, permission: str) -> tuple[User, Branch]:
    """The branch named by ``{branch_id}``, if the user may see it and holds the permission."""
    user = auth.require_login(await auth.current_user(request))
    db: Database = request.app.state.db
    branch = await chains.get_branch(db, int(request.path_params["branch_id"]))
    if branch is None or not auth.can_see_branch(user, branch):
        raise ApiError(404, "not_found", _("There is no such branch."))
    auth.require(user, permission)
    return user, branch


async def visible_chain(
    request: Request, permission: str, chain_id: int | None = None
) -> tuple[User, Chain, list[Branch]]:
    """The chain named by ``{chain_id}`` (or ``chain_id``) if the user may see it and holds
    the permission, with those of its branches the user may see."""
    user = auth.require_login(await auth.current_user(request))
    db: Database = request.app.state.db
    if chain_id is None:
        chain_id = int(request.path_params["chain_id"])
    chain = await chains.get_chain(db, chain_id)
    everything = await chains.list_branches(db, chain_ids=frozenset({chain.id})) if chain else []
    if chain is None or not auth.can_see_chain(user, chain.id, everything):
        raise ApiError(404, "not_found", _("There is no such chain."))
    auth.require(user, permission)
    return user, chain, [b for b in everything if auth.can_see_branch(user, b)]
