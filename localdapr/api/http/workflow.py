"""HTTP workflow routes (spec H3.7): ``/v1.0/workflows/<component>/...`` (also ``v1.0-beta1`` and
``v1.0-alpha1``), thin HTTP wrappers over the universal workflow API (``workflow/universal.py``),
as daprd's ``UniversalHTTPHandler``s are."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from localdapr.api.http.routing import RawSegmentRoute
from localdapr.errors import no_api_route
from localdapr.workflow.universal import UniversalWorkflowApi, not_found

router = APIRouter(route_class=RawSegmentRoute)
# daprd serves every API version and takes any workflow component name (its universal API ignores it).
PREFIXES = ("/v1.0/workflows/{component}", "/v1.0-beta1/workflows/{component}", "/v1.0-alpha1/workflows/{component}")


def _api(request: Request) -> UniversalWorkflowApi:
    return UniversalWorkflowApi(request.app.state.runtime.services.get("workflow"))


async def _body(request: Request) -> bytes:
    """The body as the workflow input / event data, taken as is (daprd does not parse it)."""
    return await request.body()


async def start(component: str, name: str, request: Request) -> Response:
    iid = await _api(request).start(name, request.query_params.get("instanceID", ""), await _body(request), gave_up=request.is_disconnected)
    return JSONResponse({"instanceID": iid}, status_code=202)


async def get(component: str, instance_id: str, request: Request) -> Response:
    doc = await _api(request).get(instance_id)
    if doc is None:  # daprd's OutModifier: a response without properties is a 404
        raise not_found(instance_id)
    body = {
        "instanceID": doc["instance_id"], "workflowName": doc["workflow_name"],
        "createdAt": doc["created_at"].ToJsonString(), "lastUpdatedAt": doc["last_updated_at"].ToJsonString(),
        "runtimeStatus": doc["runtime_status"], "properties": doc["properties"],
    }
    if not body["properties"]:
        del body["properties"]  # protojson leaves an empty map out
    return JSONResponse(body)


async def raise_event(component: str, instance_id: str, event_name: str, request: Request) -> Response:
    await _api(request).raise_event(instance_id, event_name, await _body(request))
    return Response(status_code=202)


async def terminate(component: str, instance_id: str, request: Request) -> Response:
    await _api(request).terminate(instance_id)
    return Response(status_code=202)


async def pause(component: str, instance_id: str, request: Request) -> Response:
    await _api(request).pause(instance_id)
    return Response(status_code=202)


async def resume(component: str, instance_id: str, request: Request) -> Response:
    await _api(request).resume(instance_id)
    return Response(status_code=202)


async def purge(component: str, instance_id: str, request: Request) -> Response:
    await _api(request).purge(instance_id)
    return Response(status_code=202)


async def no_route(request: Request) -> Response:
    """A path that matches no daprd workflow route (an empty workflow or event name, another
    method): daprd's service-invocation fallback answers."""
    raise no_api_route()


_ROUTES = [
    ("/{name}/start", start, "POST"),
    ("/{instance_id}", get, "GET"),
    ("/{instance_id}/raiseEvent/{event_name}", raise_event, "POST"),
    ("/{instance_id}/terminate", terminate, "POST"),
    ("/{instance_id}/pause", pause, "POST"),
    ("/{instance_id}/resume", resume, "POST"),
    ("/{instance_id}/purge", purge, "POST"),
]
for _prefix in PREFIXES:
    for _path, _handler, _method in _ROUTES:
        router.add_api_route(_prefix + _path, _handler, methods=[_method])

# Last: any other method or path under a workflow prefix matches no daprd route (its
# service-invocation fallback answers).
for _version in ("v1.0", "v1.0-beta1", "v1.0-alpha1"):
    router.add_api_route(f"/{_version}/workflows/{{rest:path}}", no_route, methods=["GET", "POST", "PUT", "DELETE", "PATCH"], include_in_schema=False)
