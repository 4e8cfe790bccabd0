#!/usr/bin/env python3
"""The reference `sfdest bench --scenario latency` measures sfdest against: what a user's own
script does, updating Contacts with simple-salesforce through sObject Collections, 200 records a
call, one call at a time, against the same emulator with the same latency.

simple-salesforce speaks https:// to *.salesforce.com; a requests adapter sends every request to
the emulator's plain-HTTP loopback address instead, so the library runs unmodified.

Usage: collections_peer.py --base-url http://127.0.0.1:PORT --ids-file ids.json --last-name NAME
Prints one JSON object: records, calls, seconds (from the first update to the last answer).
"""
import argparse
import json
import sys
import time
import urllib.parse

import requests
from requests.adapters import HTTPAdapter
from simple_salesforce import Salesforce


class LoopbackAdapter(HTTPAdapter):
    """Sends every https request to the emulator, keeping path and query."""

    def __init__(self, base_url):
        super().__init__()
        self.base = urllib.parse.urlsplit(base_url)

    def send(self, request, **kwargs):
        original = urllib.parse.urlsplit(request.url)
        request.url = urllib.parse.urlunsplit((self.base.scheme, self.base.netloc, original.path, original.query, original.fragment))
        return super().send(request, **kwargs)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--ids-file", required=True)
    parser.add_argument("--last-name", required=True)
    parser.add_argument("--batch", type=int, default=200)
    args = parser.parse_args()
    with open(args.ids_file) as handle:
        ids = json.load(handle)

    session = requests.Session()
    session.mount("https://", LoopbackAdapter(args.base_url))
    sf = Salesforce(username="integration@emulator.sfdest", password="emulator-pw" + "TOKEN123",
                    consumer_key="sfdest-emulator-consumer-key", consumer_secret="sfdest-emulator-consumer-secret",
                    domain="emulator-dev-ed.my", session=session, version="66.0")
    calls = 0
    started = time.monotonic()
    for start in range(0, len(ids), args.batch):
        records = [{"attributes": {"type": "Contact"}, "id": record_id, "LastName": args.last_name, "FirstName": "Ada",
                    "crm_1_seg__c": "realized"} for record_id in ids[start:start + args.batch]]
        results = sf.restful("composite/sobjects", method="PATCH", data=json.dumps({"allOrNone": False, "records": records}),
                             headers={"Content-Type": "application/json"})
        calls += 1
        failed = [result for result in results if not result.get("success")]
        if failed:
            print(f"records refused: {failed[:3]}", file=sys.stderr)
            sys.exit(1)
    print(json.dumps({"records": len(ids), "calls": calls, "seconds": time.monotonic() - started}))


if __name__ == "__main__":
    main()
