"""A node's Pipeline page: its config as YAML in an editor; Check (each issue with its line and
field, as `pepeunit pipelines check` reports them), Try (the draft run on the node's recent stored
values or on an uploaded recording, beside what the active pipeline stored) and Apply (as
`PATCH /unit_nodes/set_data_pipe_config`), through `services/nodes/pipeline_drafts.py`.

`GET /nodes/{uuid}/pipeline` is the page; `POST …/pipeline/check` and `POST …/pipeline/try`
answer htmx with a fragment (a whole page without htmx); `POST …/pipeline/apply` redirects to
the page once applied, or shows the page again with the issues.
"""

from datetime import UTC, datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import File, Form, Query, Request, UploadFile
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from control_plane.api.deps import ContextDep, SessionDep
from control_plane.console.auth import ConsoleAgent
from control_plane.console.node_views import shown_rows
from control_plane.console.routing import console_router
from control_plane.console.templating import app_prefix, is_htmx, render
from control_plane.context import ControlPlaneContext
from control_plane.services.errors import DataPipeError
from control_plane.services.nodes import access as node_access
from control_plane.services.nodes import pipeline_drafts, pipelines
from control_plane.services.nodes.pipeline_drafts import DraftCheck, Trial
from control_plane.services.store import store_client
from pepeunit_core.db.models import Unit, UnitNode

SHOWN_ROWS = 100
"""Rows of a trial shown per side (the newest)."""
SHOWN_REJECTIONS = 20

router = console_router()

Draft = Annotated[str, Form(alias="yaml")]
Recording = Annotated[UploadFile | None, File()]
Source = Annotated[Literal["stored", "recording"], Form()]


def _draft_or_stored(node: UnitNode) -> str:
    if node.data_pipe_yml is None:
        return ""
    try:
        return pipelines.config_yaml(node)
    except DataPipeError:
        return ""


def _page(
    request: Request,
    session: Session,
    node: UnitNode,
    draft: str,
    *,
    check: DraftCheck | None = None,
    trial: Trial | None = None,
    trial_error: str | None = None,
    applied: bool = False,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "nodes/pipeline.html",
        status_code=status_code,
        title="Pipeline",
        node=node,
        unit=session.get(Unit, node.unit_uuid),
        draft=draft,
        check=check,
        trial=_trial_view(trial),
        trial_error=trial_error,
        applied=applied,
    )


@router.get("/nodes/{uuid}/pipeline")
def node_pipeline(
    request: Request,
    uuid: UUID,
    agent: ConsoleAgent,
    session: SessionDep,
    applied: Annotated[bool, Query()] = False,
) -> Response:
    node = node_access.readable_node(session, agent, uuid)
    return _page(request, session, node, _draft_or_stored(node), applied=applied)


@router.post("/nodes/{uuid}/pipeline/check")
def node_pipeline_check(
    request: Request,
    uuid: UUID,
    agent: ConsoleAgent,
    context: ContextDep,
    session: SessionDep,
    draft: Draft,
) -> Response:
    node = node_access.readable_node(session, agent, uuid)
    checked = pipeline_drafts.check_draft(draft, context.settings.mqtt_max_payload_bytes)
    if is_htmx(request):
        return render(request, "nodes/check.html", check=checked)
    return _page(request, session, node, draft, check=checked)


@router.post("/nodes/{uuid}/pipeline/try")
def node_pipeline_try(
    request: Request,
    uuid: UUID,
    agent: ConsoleAgent,
    context: ContextDep,
    session: SessionDep,
    draft: Draft,
    source: Source = "stored",
    recording: Recording = None,
) -> Response:
    node = node_access.readable_node(session, agent, uuid)
    checked = pipeline_drafts.check_draft(draft, context.settings.mqtt_max_payload_bytes)
    trial: Trial | None = None
    error: str | None = None
    if checked.config is None:
        error = "The draft has errors: check it first."
    else:
        try:
            trial = _run_trial(context, session, node, checked, source, recording)
        except DataPipeError as refused:
            error = refused.message
    if is_htmx(request):
        return render(
            request, "nodes/trial.html", trial=_trial_view(trial), trial_error=error, check=checked
        )
    return _page(request, session, node, draft, check=checked, trial=trial, trial_error=error)


def _run_trial(
    context: ControlPlaneContext,
    session: Session,
    node: UnitNode,
    checked: DraftCheck,
    source: str,
    recording: UploadFile | None,
) -> Trial:
    assert checked.config is not None
    if source == "recording":
        if recording is None or not recording.filename:
            raise DataPipeError("Choose a recording file to try the draft on.")
        content = recording.file.read(pipeline_drafts.MAX_RECORDING_BYTES + 1)
        inputs = pipeline_drafts.recording_inputs(node, content)
    else:
        with store_client(context.clickhouse) as client:
            inputs = pipeline_drafts.recent_stored_inputs(session, client, node, datetime.now(UTC))
    return pipeline_drafts.try_draft(node, checked.config, inputs, recorded=source == "recording")


@router.post("/nodes/{uuid}/pipeline/apply")
def node_pipeline_apply(
    request: Request,
    uuid: UUID,
    agent: ConsoleAgent,
    context: ContextDep,
    session: SessionDep,
    draft: Draft,
) -> Response:
    node = node_access.own_node(session, agent, uuid)
    checked = pipeline_drafts.apply_draft(
        session, node, draft, context.settings.mqtt_max_payload_bytes
    )
    if checked.config is None:
        return _page(request, session, node, draft, check=checked, status_code=422)
    location = f"{app_prefix(request)}/nodes/{uuid}/pipeline?applied=true"
    return RedirectResponse(location, status_code=303)


def _trial_view(trial: Trial | None) -> dict[str, object] | None:
    """The trial as the template shows it: the newest rows of each side, newest first."""
    if trial is None:
        return None
    draft = trial.draft
    active_rows = trial.active.rows if trial.active is not None else list(trial.inputs.stored)
    return {
        "note": trial.inputs.note,
        "messages": len(trial.inputs.messages),
        "skipped": trial.inputs.skipped,
        "accepted": draft.accepted_count,
        "rejected": len(draft.rejected),
        "rejections": [
            f"{item.message.t:%H:%M:%S} {item.message.payload[:40]!r}: "
            f"{item.rejection.stage} {item.rejection.reason}"
            for item in draft.rejected[-SHOWN_REJECTIONS:]
        ],
        "draft_rows": list(reversed(shown_rows(draft.rows)))[:SHOWN_ROWS],
        "draft_count": len(draft.rows),
        "alerts": len(draft.alerts),
        "active_label": _active_label(trial),
        "active_rows": list(reversed(shown_rows(active_rows)))[:SHOWN_ROWS],
        "active_count": len(active_rows),
        "recorded": trial.recorded,
    }


def _active_label(trial: Trial) -> str:
    if not trial.recorded:
        return "What the active pipeline stored"
    if trial.active is None:
        return "No active pipeline config to compare with"
    return "The active pipeline on this recording"
