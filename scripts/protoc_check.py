"""proto/ as an outside client sees it: compiled by plain protoc (the one grpcio-tools ships,
not protox), and every JSON example of the contract parsed into its message by Google's own
protobuf runtime, strictly (an unknown field fails), then round-tripped through the binary
encoding. Run by scripts/test.sh in the .tools venv; exits non-zero on any failure."""

import importlib
import json
import os
import sys
import tempfile

from grpc_tools import protoc
from google.protobuf import json_format

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROTO = os.path.join(ROOT, "proto")
EXAMPLES = os.path.join(ROOT, "tests", "data", "contract")

# Example file → message it holds (tests/data/contract/README.md).
MESSAGES = {
    "campaign.json": "Campaign",
    "campaign_audience_evaluated.json": "CampaignAudienceEvaluated",
    "campaign_event.json": "CampaignEvent",
    "contact.json": "Contact",
    "contact_enriched.json": "ContactEnriched",
    "contact_event.json": "ContactEvent",
    "contact_objected_event.json": "ContactEvent",
    "decision_event.json": "DecisionEvent",
    "eligibility_decided.json": "EligibilityDecided",
}
MODULES = ["enums", "contact", "campaign", "events"]


def main() -> int:
    # Removed afterwards: the check leaves nothing behind in /tmp.
    with tempfile.TemporaryDirectory(prefix="dmumatch-protoc-") as out:
        return check(out)


def check(out: str) -> int:
    files = [f"dmumatch/v1/{m}.proto" for m in MODULES]
    include = os.path.join(os.path.dirname(protoc.__file__), "_proto")
    rc = protoc.main(["protoc", f"-I{PROTO}", f"-I{include}", f"--python_out={out}", *files])
    if rc != 0:
        print(f"protoc failed ({rc})", file=sys.stderr)
        return 1
    sys.path.insert(0, out)
    mods = [importlib.import_module(f"dmumatch.v1.{m}_pb2") for m in MODULES]

    def message(name):
        for m in mods:
            if hasattr(m, name):
                return getattr(m, name)()
        raise KeyError(name)

    listed = sorted(f for f in os.listdir(EXAMPLES) if f.endswith(".json"))
    missing = [f for f in listed if f not in MESSAGES]
    if missing:
        print(f"no message known for {missing}: add them to MESSAGES", file=sys.stderr)
        return 1
    for name in listed:
        text = open(os.path.join(EXAMPLES, name), encoding="utf-8").read()
        msg = message(MESSAGES[name])
        json_format.Parse(text, msg)  # strict: unknown fields and enum names fail
        again = message(MESSAGES[name])
        again.ParseFromString(msg.SerializeToString())
        if again != msg:
            print(f"{name}: binary round trip changed the message", file=sys.stderr)
            return 1
        back = json.loads(json_format.MessageToJson(again))
        if not back:
            print(f"{name}: parsed to an empty message", file=sys.stderr)
            return 1
    print(f"protoc: {len(files)} files compiled; {len(listed)} contract examples parsed strictly and round-tripped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
