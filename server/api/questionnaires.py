"""``/api/v1/questionnaires/{id}/versions/{version}``: a published definition (immutable),
each question with its resolved ``required`` and ``scored``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .. import auth
from ..errors import ApiError
from ..i18n import _
from ..queries import questionnaires
from ..questionnaire import resolved
from .common import ok


async def read_version(request: Request) -> Response:
    auth.require(await auth.current_user(request), "questionnaire.read")
    qid: str = request.path_params["questionnaire_id"]
    version: int = request.path_params["version"]
    definition = await questionnaires.get_published(request.app.state.db, qid, version)
    if definition is None:
        raise ApiError(404, "not_found", _("There is no such questionnaire version."))
    # A published version never changes: the app may cache it for good.
    immutable = {"cache-control": "private, max-age=31536000, immutable"}
    return ok(resolved(definition), headers=immutable)
