"""ApiVersions (key 18), v0-4.

Behaviour: the advertised ranges come from the handler registry that dispatches, so
nothing is advertised that is not served.  An unknown request version is answered by
the connection loop (v0 format, UNSUPPORTED_VERSION) before this handler is reached.
Feature levels (v3+): the ones a single Kafka 4.1.1 node reports (kbroker/features.py),
so `kafka-features describe` and clients that read them see the release's levels.  Below v4
a supported feature whose minimum is 0 is left out, as Kafka does: clients before 3.9 (e.g.
kafka-clients 3.4, Spark 3.5's) refuse a range starting at 0 and their Admin thread dies.
Version notes: v1 throttle_time_ms · v3 flexible body (header stays v0), client software name
and version (checked as Kafka does: INVALID_REQUEST),
supported/finalized features · v4 (no change in the body).
Not implemented: —
"""

import re

from kbroker import features
from kbroker.context import RequestContext
from kbroker.registry import handler, supported_versions
from wire.errors import ErrorCode
from wire.messages.api_versions import ApiVersionsRequest, ApiVersionsResponse

# Kafka's rule for client_software_name / _version (v3+): letters, digits, '-' and '.',
# starting and ending with a letter or digit; anything else is INVALID_REQUEST.
_SOFTWARE = re.compile(r"[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?")


@handler(ApiVersionsRequest, versions=(0, 4))
async def api_versions(ctx: RequestContext, req: ApiVersionsRequest) -> ApiVersionsResponse:
    if ctx.api_version >= 3 and not (_SOFTWARE.fullmatch(req.client_software_name or "")
                                     and _SOFTWARE.fullmatch(req.client_software_version or "")):
        return ApiVersionsResponse(error_code=ErrorCode.INVALID_REQUEST, throttle_time_ms=0)
    return ApiVersionsResponse(
        error_code=0,
        api_keys=[ApiVersionsResponse.ApiVersion(api_key=k, min_version=lo, max_version=hi)
                  for k, lo, hi in supported_versions()],
        throttle_time_ms=0,
        supported_features=[ApiVersionsResponse.SupportedFeatureKey(name=n, min_version=lo, max_version=hi)
                            for n, (lo, hi) in features.SUPPORTED.items()
                            if lo >= 1 or ctx.api_version >= 4],
        finalized_features_epoch=features.FINALIZED_EPOCH,
        finalized_features=[ApiVersionsResponse.FinalizedFeatureKey(name=n, min_version_level=v,
                                                                    max_version_level=v)
                            for n, v in features.FINALIZED.items()],
        zk_migration_ready=False,
    )
