"""Runs the transaction scenarios against kbroker (default) or the reference Apache Kafka (``--kafka``).

    python -m compat.txn [--kafka] [--brokers 3] [--dir D] [--report R.json] visibility lso zombie timeout
    python -m compat.txn [--kafka] eos [--app-kills 10] [--broker-kills 2] [--records 3000] [--seed S] [--subscribe]
    python -m compat.txn --kafka --brokers 3 eos --app-kills 10 --broker-kills 4      # criterion 6

Scenarios: compat/txn/scenarios.py (visibility, lso, zombie, timeout) and compat/txn/campaign.py (eos).
A fresh broker or cluster is started for the run (compat/txn/targets.py), with
``transaction.abort.timed.out.transaction.cleanup.interval.ms=500`` so that the timeout scenario is short;
``--override KEY=VALUE`` adds broker configs. Prints one JSON report per scenario; exit status 1 when any
reports violations. The longer exactly-once campaign: ``eos --app-kills 50 --broker-kills 10 --records 20000``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from compat.txn import campaign, scenarios, targets

OVERRIDES = {"transaction.abort.timed.out.transaction.cleanup.interval.ms": "500"}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kafka", action="store_true", help="the reference Apache Kafka instead of kbroker")
    ap.add_argument("--brokers", type=int, default=1)
    ap.add_argument("--dir", type=Path, help="working directory (default: a new temporary one)")
    ap.add_argument("--override", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--report", type=Path, help="also write the reports here (JSON list)")
    ap.add_argument("--app-kills", type=int, default=10)
    ap.add_argument("--broker-kills", type=int, default=2)
    ap.add_argument("--records", type=int, default=3000)
    ap.add_argument("--seed", type=int)
    ap.add_argument("--subscribe", action="store_true", help="eos: the app subscribes as a static group member")
    ap.add_argument("--java", default="4.4.0", choices=["3.9.2", "4.4.0"],
                    help="kafka-clients version of the Java programs of lso, zombie, timeout and eos")
    ap.add_argument("scenario", nargs="+", choices=[*scenarios.SCENARIOS, "eos"])
    a = ap.parse_args(argv)
    workdir = a.dir or Path(tempfile.mkdtemp(prefix="txn-"))
    overrides = {**OVERRIDES, **dict(o.split("=", 1) for o in a.override)}
    reports = []
    with targets.make("kafka" if a.kafka else "kbroker", workdir, a.brokers, overrides) as target:
        for name in a.scenario:
            if name == "eos":
                r = campaign.run(target, workdir / "eos", app_kills=a.app_kills, broker_kills=a.broker_kills,
                                 records=a.records, seed=a.seed, version=a.java,
                                 subscribe=a.subscribe)
            elif name == "visibility":
                r = scenarios.visibility(target)
            else:
                r = scenarios.SCENARIOS[name](target, version=a.java)
            print(json.dumps(r, indent=1), flush=True)
            reports.append(r)
    if a.report:
        a.report.write_text(json.dumps(reports, indent=1))
    bad = sum(r["violations"] for r in reports)
    print(f"scenarios: {len(reports)}, violations: {bad}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
