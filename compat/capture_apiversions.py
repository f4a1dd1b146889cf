"""Capture what the reference Apache Kafka (compat/kafka_ref, a single KRaft node) answers to
ApiVersions v4, into tests/golden/kafka-<release>-api-versions.json; tests/broker/test_api_ranges.py
holds kbroker's ApiVersions answer against it.

    python -m compat.capture_apiversions
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from compat.kafka_ref.launcher import KafkaRef
from tests.support.rawclient import RawClient
from wire.messages import KAFKA_RELEASE
from wire.messages.api_versions import ApiVersionsRequest

ROOT = Path(__file__).resolve().parent.parent


def capture(bootstrap: str) -> dict:
    with RawClient.connect(bootstrap) as c:
        r = c.request(ApiVersionsRequest(client_software_name="capture", client_software_version="1"), 4)
    return {"api_keys": [[a.api_key, a.min_version, a.max_version] for a in r.api_keys],
            "supported_features": [[f.name, f.min_version, f.max_version] for f in r.supported_features],
            "finalized_features": [[f.name, f.min_version_level, f.max_version_level]
                                   for f in r.finalized_features],
            "zk_migration_ready": r.zk_migration_ready}


def main() -> int:
    k = KafkaRef(heap="1g").start()
    try:
        time.sleep(5)  # the finalized features arrive with the first metadata records
        out = capture(k.bootstrap)
    finally:
        k.stop()
    path = ROOT / "tests" / "golden" / f"kafka-{KAFKA_RELEASE}-api-versions.json"
    lines = ["{"]
    for i, (key, val) in enumerate(out.items()):
        end = "," if i < len(out) - 1 else ""
        if isinstance(val, list):
            rows = ",\n    ".join(json.dumps(v) for v in val)
            lines.append(f'  "{key}": [\n    {rows}\n  ]{end}')
        else:
            lines.append(f'  "{key}": {json.dumps(val)}{end}')
    path.write_text("\n".join(lines + ["}"]) + "\n")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
