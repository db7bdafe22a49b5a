"""create_app(settings): the routes, middleware and lifespan of the Visitscore server."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.convertors import Convertor, register_url_convertor
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from . import (
    export_process,
    exports,  # noqa: F401  (registers the export job)
    mail,  # noqa: F401  (registers the mail jobs)
    photo_export,  # noqa: F401  (registers the photo export job)
    webhooks,  # noqa: F401  (registers the webhook job)
)
from . import settings as settings_module
from .api import assignments as api_assignments
from .api import openapi as api_openapi
from .api import pay as api_pay
from .api import photos as api_photos
from .api import questionnaires as api_questionnaires
from .api import session as api_session
from .api import visits as api_visits
from .compression import CompressionMiddleware
from .engines import open_database
from .error_pages import api_error_handler, http_exception_handler, server_error_handler
from .errors import ApiError
from .jobs import Runner
from .middleware import RequestMiddleware
from .migrate import migrate_all
from .photo_store import FolderStore
from .queries import programme as programme_queries
from .scratch import Scratch
from .settings import ASSETS, Settings
from .templating import make_templates
from .views import (
    account_mail,
    accounts,
    action_plans,
    app_shell,
    appeals,
    assignments_admin,
    branch,
    branches_admin,
    compare,
    home,
    login,
    outbox_import,
    pay_admin,
    programme,
    qualifications_admin,
    questionnaires_admin,
    review,
    roster_admin,
    self_assessment,
    tokens,
    users_admin,
    visit_report,
    webhooks_admin,
)
from .views import exports as export_views

log = logging.getLogger("visitscore")


class IdConvertor(Convertor[int]):
    """A row id in a path (``{branch_id:id}``): at most 18 digits, so it always fits
    SQLite's 64-bit integers; a longer number matches no route and answers 404."""

    regex = "[0-9]{1,18}"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(value)


register_url_convertor("id", IdConvertor())


async def health(request: Request) -> Response:
    await programme_queries.alive(request.app.state.db)
    return JSONResponse({"ok": True}, headers={"cache-control": "no-store"})


def routes(settings: Settings) -> list[Route | Mount]:
    """Every route of the application, in one list."""
    return [
        Route("/", home.home, methods=["GET"]),
        Route("/login", login.login_page, methods=["GET"]),
        Route("/login", login.login_submit, methods=["POST"]),
        Route("/logout", login.logout, methods=["POST"]),
        Route("/language", login.set_language, methods=["POST"]),
        Route("/account/password", accounts.password_page, methods=["GET"]),
        Route("/account/password", accounts.password_submit, methods=["POST"]),
        Route("/password-reset", accounts.reset_page, methods=["GET"]),
        Route("/password-reset", accounts.reset_request, methods=["POST"]),
        Route("/password-reset/{token}", accounts.choose_page, methods=["GET"]),
        Route("/password-reset/{token}", accounts.choose_submit, methods=["POST"]),
        Route("/account/mail", account_mail.preferences_page, methods=["GET"]),
        Route("/account/mail", account_mail.preferences_submit, methods=["POST"]),
        Route("/mail/stop/{token}", account_mail.stop_page, methods=["GET"]),
        Route("/mail/stop/{token}", account_mail.stop_submit, methods=["POST"]),
        Route("/healthz", health, methods=["GET"]),
        Route("/branches/{branch_id:id}.json", branch.branch_json, methods=["GET"]),
        Route("/branches/{branch_id:id}/visits.json", branch.visits_json, methods=["GET"]),
        Route("/branches/{branch_id:id}/visits", branch.visits_page, methods=["GET"]),
        Route("/branches/{branch_id:id}", branch.branch_page, methods=["GET"]),
        Route("/branches/{branch_id:id}/action-plans", action_plans.create, methods=["POST"]),
        Route(
            "/branches/{branch_id:id}/action-plans/{plan_id:id}/{step}",
            action_plans.step,
            methods=["POST"],
        ),
        Route(
            "/branches/{branch_id:id}/action-plans/{plan_id:id}/evidence/{size}",
            action_plans.evidence,
            methods=["GET"],
        ),
        Route(
            "/branches/{branch_id:id}/self-assessment", self_assessment.form_page, methods=["GET"]
        ),
        Route(
            "/branches/{branch_id:id}/self-assessment",
            self_assessment.form_submit,
            methods=["POST"],
        ),
        Route("/chains/{chain_id:id}/compare.json", compare.compare_json, methods=["GET"]),
        Route("/chains/{chain_id:id}/compare.csv", compare.compare_csv, methods=["GET"]),
        Route("/chains/{chain_id:id}/compare.xlsx", compare.compare_xlsx, methods=["GET"]),
        Route("/chains/{chain_id:id}/compare", compare.compare_page, methods=["GET"]),
        Route("/chains/{chain_id:id}/visits.csv", compare.visits_csv, methods=["GET"]),
        Route("/chains/{chain_id:id}/visits.json", compare.visits_json, methods=["GET"]),
        Route("/chains/{chain_id:id}/exports", export_views.create, methods=["POST"]),
        Route(
            "/chains/{chain_id:id}/photo-exports",
            export_views.create_photos,
            methods=["POST"],
        ),
        Route("/exports/{job_id:id}.json", export_views.page_json, methods=["GET"]),
        Route("/exports/{job_id:id}/file", export_views.download, methods=["GET"]),
        Route("/exports/{job_id:id}", export_views.page, methods=["GET"]),
        Route("/admin/jobs", export_views.jobs_page, methods=["GET"]),
        Route("/chains/{chain_id:id}/tokens", tokens.tokens_page, methods=["GET"]),
        Route("/chains/{chain_id:id}/tokens", tokens.create, methods=["POST"]),
        Route("/chains/{chain_id:id}/tokens/{token_id:id}/revoke", tokens.revoke, methods=["POST"]),
        Route("/admin/webhooks", webhooks_admin.list_page, methods=["GET"]),
        Route("/admin/webhooks", webhooks_admin.create, methods=["POST"]),
        Route("/admin/webhooks/{hook_id:id}", webhooks_admin.hook_page, methods=["GET"]),
        Route(
            "/admin/webhooks/{hook_id:id}/pause", webhooks_admin.pause_or_resume, methods=["POST"]
        ),
        Route(
            "/admin/webhooks/{hook_id:id}/resume", webhooks_admin.pause_or_resume, methods=["POST"]
        ),
        Route(
            "/admin/webhooks/{hook_id:id}/deliveries/{delivery_id:id}/resend",
            webhooks_admin.resend,
            methods=["POST"],
        ),
        Route("/admin/assignments", assignments_admin.page, methods=["GET"]),
        Route("/admin/assignments", assignments_admin.create, methods=["POST"]),
        Route(
            "/admin/assignments/{assignment_id:id}/cancel",
            assignments_admin.cancel,
            methods=["POST"],
        ),
        Route(
            "/admin/assignments/{assignment_id:id}/shopper",
            assignments_admin.give,
            methods=["POST"],
        ),
        Route(
            "/admin/assignments/{assignment_id:id}/window",
            assignments_admin.move,
            methods=["POST"],
        ),
        Route("/admin/branches", branches_admin.page, methods=["GET"]),
        Route("/admin/branches.json", branches_admin.branches_json, methods=["GET"]),
        Route("/admin/branches", branches_admin.create_branch, methods=["POST"]),
        Route("/admin/branches/import", branches_admin.import_csv, methods=["POST"]),
        Route("/admin/branches/{branch_id:id}", branches_admin.edit_page, methods=["GET"]),
        Route("/admin/branches/{branch_id:id}", branches_admin.update_branch, methods=["POST"]),
        Route("/admin/chains", branches_admin.create_chain, methods=["POST"]),
        Route("/admin/questionnaires", questionnaires_admin.list_page, methods=["GET"]),
        Route("/admin/questionnaires", questionnaires_admin.create, methods=["POST"]),
        Route("/admin/questionnaires/import", questionnaires_admin.import_file, methods=["POST"]),
        Route(
            "/admin/questionnaires/{questionnaire_id}",
            questionnaires_admin.editor_page,
            methods=["GET"],
        ),
        Route(
            "/admin/questionnaires/{questionnaire_id}/draft",
            questionnaires_admin.edit,
            methods=["POST"],
        ),
        Route(
            "/admin/questionnaires/{questionnaire_id}/publish",
            questionnaires_admin.publish,
            methods=["POST"],
        ),
        Route(
            "/admin/questionnaires/{questionnaire_id}/questions/{question_key}",
            questionnaires_admin.question_page,
            methods=["GET"],
        ),
        Route(
            "/admin/questionnaires/{questionnaire_id}/versions/{version:id}.json",
            questionnaires_admin.export,
            methods=["GET"],
        ),
        Route(
            "/admin/questionnaires/{questionnaire_id}/versions/{version:id}/preview",
            questionnaires_admin.preview,
            methods=["GET"],
        ),
        Route("/admin/users", users_admin.users_page, methods=["GET"]),
        Route("/admin/users", users_admin.create, methods=["POST"]),
        Route("/admin/users/import", users_admin.import_csv, methods=["POST"]),
        Route("/admin/users/{user_id:id}", users_admin.user_page, methods=["GET"]),
        Route("/admin/users/{user_id:id}/role", users_admin.set_role, methods=["POST"]),
        Route("/admin/users/{user_id:id}/deactivate", users_admin.deactivate, methods=["POST"]),
        Route("/admin/users/{user_id:id}/activate", users_admin.activate, methods=["POST"]),
        Route("/admin/users/{user_id:id}/password", users_admin.reset_password, methods=["POST"]),
        Route(
            "/admin/users/{user_id:id}/qualifications",
            qualifications_admin.grant,
            methods=["POST"],
        ),
        Route(
            "/admin/users/{user_id:id}/qualifications/{qualification_id:id}/revoke",
            qualifications_admin.revoke,
            methods=["POST"],
        ),
        Route("/admin/users/{user_id:id}/profile", roster_admin.save_profile, methods=["POST"]),
        Route("/admin/shoppers", roster_admin.roster_page, methods=["GET"]),
        Route("/admin/qualifications", qualifications_admin.list_page, methods=["GET"]),
        Route("/admin/qualifications", qualifications_admin.create, methods=["POST"]),
        Route("/admin/pay", pay_admin.page, methods=["GET"]),
        Route("/admin/pay.csv", pay_admin.export_csv, methods=["GET"]),
        Route("/admin/pay.xlsx", pay_admin.export_xlsx, methods=["GET"]),
        Route("/admin/pay/statements", pay_admin.make_statements, methods=["POST"]),
        Route("/admin/pay/approve", pay_admin.approve, methods=["POST"]),
        Route("/admin/pay/paid", pay_admin.mark_paid, methods=["POST"]),
        Route("/admin/pay/statements/{statement_id:id}", pay_admin.statement_page, methods=["GET"]),
        Route("/admin/pay/visits/{visit_id}", pay_admin.pay_rejected, methods=["POST"]),
        Route("/admin/programme", programme.settings_page, methods=["GET"]),
        Route("/admin/outbox-import", outbox_import.import_page, methods=["GET"]),
        Route("/admin/outbox-import", outbox_import.import_submit, methods=["POST"]),
        Route("/admin/programme", programme.settings_submit, methods=["POST"]),
        Route("/review", review.queue_page, methods=["GET"]),
        Route("/review/approve-many", review.approve_many, methods=["POST"]),
        Route("/review/notes", review.notes_page, methods=["GET"]),
        Route("/review/notes", review.create_note, methods=["POST"]),
        Route("/review/notes/{note_id:id}/archive", review.archive_note, methods=["POST"]),
        Route("/review/{visit_id}/appeal", review.decide_appeal, methods=["POST"]),
        Route("/review/{visit_id}/{decision}", review.decide, methods=["POST"]),
        Route("/review/{visit_id}/correct/{question}", review.correct, methods=["POST"]),
        Route("/visits/{visit_id}/appeal", appeals.open_appeal, methods=["POST"]),
        Route("/visits/{visit_id}.json", visit_report.visit_json, methods=["GET"]),
        Route("/visits/{visit_id}", visit_report.visit_page, methods=["GET"]),
        Route("/api/v1/session", api_session.read_session, methods=["GET"]),
        Route("/api/v1/session", api_session.create_session, methods=["POST"]),
        Route("/api/v1/session", api_session.delete_session, methods=["DELETE"]),
        Route(
            "/api/v1/questionnaires/{questionnaire_id}/versions/{version:id}",
            api_questionnaires.read_version,
            methods=["GET"],
        ),
        Route("/api/v1/assignments", api_assignments.list_assignments, methods=["GET"]),
        Route(
            "/api/v1/assignments/{assignment_id:id}/claim",
            api_assignments.claim,
            methods=["POST"],
        ),
        Route("/api/v1/me/visits", api_visits.my_visits, methods=["GET"]),
        Route("/api/v1/me/pay", api_pay.my_pay, methods=["GET"]),
        Route("/api/v1/visits/{visit_id}", api_visits.put_visit, methods=["PUT"]),
        Route("/api/v1/visits/{visit_id}", api_visits.get_visit, methods=["GET"]),
        Route("/api/v1/visits/{visit_id}/photos/{photo_id}", api_photos.put_photo, methods=["PUT"]),
        Route("/api/v1/photos/{photo_id}/{size}", api_photos.get_photo, methods=["GET"]),
        Route("/api/v1/openapi.json", api_openapi.openapi_json, methods=["GET"]),
        Route("/service-worker.js", app_shell.service_worker, methods=["GET"]),
        Route("/app", app_shell.app_root, methods=["GET"]),
        Route("/app/strings/{lang}.json", app_shell.strings, methods=["GET"]),
        Route("/app/manifest/{lang}.webmanifest", app_shell.manifest, methods=["GET"]),
        Route("/app/", app_shell.index, methods=["GET", "HEAD"]),
        Mount("/app", app_shell.ShellFiles(directory=settings.pwa_dir, html=True), name="app"),
        Mount("/static", StaticFiles(directory=ASSETS / "static"), name="static"),
    ]


SWITCH_INTERVAL = 0.0005


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or settings_module.from_env()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        db = open_database(settings.database_url, settings.data_dir, settings.read_connections)
        # This worker's folder for uploads and photo files in the making; folders of
        # workers that died (and only those) are removed (see scratch.py).
        scratch = Scratch(settings.data_dir / "uploads")
        # Image work runs on its own few threads: bounded concurrency, and few malloc
        # arenas holding decoded pixels after a burst.
        pool = ThreadPoolExecutor(settings.photo_workers, thread_name_prefix="photo")
        # Exports and photos do CPU work on threads; a thread keeps the GIL for up to the
        # switch interval (5 ms by default) before the event loop may run, for each of a
        # request's few steps. 0.5 ms keeps a request's wait behind that work short.
        sys.setswitchinterval(SWITCH_INTERVAL)
        stop = asyncio.Event()
        running: asyncio.Task[None] | None = None
        await db.connect()
        try:
            applied = await migrate_all(db)
            if applied:
                log.info("applied migrations: %s", ", ".join(applied))
            app.state.db = db
            app.state.scratch = scratch.open()
            store = app.state.photo_store
            if isinstance(store, FolderStore):
                store.scratch = app.state.scratch  # same file system: renamed into place
            await store.check()
            app.state.photo_pool = pool
            app.state.export_children = asyncio.Semaphore(export_process.CHILDREN)
            app.state.jobs = None
            if settings.run_jobs:
                child = settings.worker_command() if settings.jobs_in_child else None
                app.state.jobs = Runner(
                    db, store, app.state.scratch, child=child, settings=settings
                )
                running = asyncio.create_task(app.state.jobs.run(stop))
            yield
        finally:
            if running is not None:
                stop.set()
                running.cancel()  # a job in hand goes back to the queue at once
                await asyncio.gather(running, return_exceptions=True)
            pool.shutdown(wait=True)
            await app.state.photo_store.close()
            scratch.close()
            await db.close()

    app = Starlette(
        routes=routes(settings),
        middleware=[Middleware(CompressionMiddleware), Middleware(RequestMiddleware)],
        exception_handlers={
            ApiError: api_error_handler,
            HTTPException: http_exception_handler,
            Exception: server_error_handler,
        },
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.templates = make_templates(settings.data_dir / "templates")
    app.state.photo_store = settings.open_photo_store()
    # Made now, not by two workers racing on first use; it signs CSRF tokens.
    app.state.secret = settings.secret_key()
    return app


def app_factory() -> Starlette:
    """For ``uvicorn --factory server.app:app_factory``: settings from the environment."""
    return create_app()
