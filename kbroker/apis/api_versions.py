"""ApiVersions (key 18), v0-4.

Behaviour: the advertised ranges come from the handler registry that dispatches, so
nothing is advertised that is not served.  An unknown request version is answered by
the connection loop (v0 format, UNSUPPORTED_VERSION) before this handler is reached.
Version notes: v1 throttle_time_ms · v3 flexible body (header stays v0), client software name.
Not implemented: supported/finalized features (none to report).
"""

from kbroker.context import RequestContext
from kbroker.registry import handler, supported_versions
from wire.messages.api_versions import ApiVersionsRequest, ApiVersionsResponse


@handler(ApiVersionsRequest, versions=(0, 4))
async def api_versions(ctx: RequestContext, req: ApiVersionsRequest) -> ApiVersionsResponse:
    return ApiVersionsResponse(
        error_code=0,
        api_keys=[ApiVersionsResponse.ApiVersion(api_key=k, min_version=lo, max_version=hi)
                  for k, lo, hi in supported_versions()],
        throttle_time_ms=0,
    )
