#!/usr/bin/env python3
"""Drive the sfdest Salesforce emulator with simple-salesforce, an independent Salesforce client.

simple-salesforce always speaks https:// to *.salesforce.com; a requests adapter rewrites every
request to the emulator's plain-HTTP loopback address, so the library runs unmodified.

Usage: simple_salesforce_check.py --base-url http://127.0.0.1:PORT --contact-id 003... [credentials]
       simple_salesforce_check.py --bulk --base-url ... (Bulk API 2.0 and sObject Collections upsert)
       simple_salesforce_check.py --base-url http://127.0.0.1:PORT --jwt-private-key FILE (the JWT bearer flow)
Prints one JSON object with what it saw; exits non-zero on the first mismatch.
"""
import argparse
import json
import sys
import urllib.parse

import requests
from requests.adapters import HTTPAdapter
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceAuthenticationFailed


class LoopbackAdapter(HTTPAdapter):
    """Sends every https request to the emulator instead, keeping path and query."""

    def __init__(self, base_url, seen):
        super().__init__()
        self.base = urllib.parse.urlsplit(base_url)
        self.seen = seen

    def send(self, request, **kwargs):
        original = urllib.parse.urlsplit(request.url)
        self.seen.append(f"{request.method} {original.netloc}{original.path}")
        request.url = urllib.parse.urlunsplit(
            (self.base.scheme, self.base.netloc, original.path, original.query, original.fragment))
        return super().send(request, **kwargs)


def fail(message):
    print(f"MISMATCH: {message}", file=sys.stderr)
    sys.exit(1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--contact-id", required=True)
    parser.add_argument("--username", default="integration@emulator.sfdest")
    parser.add_argument("--password", default="emulator-pw")
    parser.add_argument("--security-token", default="TOKEN123")
    parser.add_argument("--consumer-key", default="sfdest-emulator-consumer-key")
    parser.add_argument("--consumer-secret", default="sfdest-emulator-consumer-secret")
    parser.add_argument("--domain", default="emulator-dev-ed.my")
    args = parser.parse_args()

    seen = []
    session = requests.Session()
    session.mount("https://", LoopbackAdapter(args.base_url, seen))

    # simple-salesforce logs in through SOAP when given security_token separately; for the OAuth
    # username-password flow it takes the password with the token appended and no security_token.
    # A wrong password must be refused with Salesforce's OAuth error.
    try:
        Salesforce(username=args.username, password="wrong" + args.security_token,
                   consumer_key=args.consumer_key, consumer_secret=args.consumer_secret,
                   domain=args.domain, session=session, version="66.0")
        fail("a wrong password was accepted")
    except SalesforceAuthenticationFailed as error:
        refused = str(error)
        if "invalid_grant" not in refused or "authentication failure" not in refused:
            fail(f"unexpected refusal: {refused}")

    # OAuth username-password flow with consumer key and secret, password + security token.
    sf = Salesforce(username=args.username, password=args.password + args.security_token,
                    consumer_key=args.consumer_key, consumer_secret=args.consumer_secret,
                    domain=args.domain, session=session, version="66.0")
    if not seen or not seen[0].endswith("/services/oauth2/token"):
        fail(f"login did not go to the token endpoint: {seen}")

    body = {"allOrNone": False, "records": [
        {"attributes": {"type": "Contact"}, "id": args.contact_id,
         "FirstName": "Grace", "LastName": "Hopper", "crm_1_seg__c": "realized"},
        {"attributes": {"type": "Contact"}, "id": "003xx000004TmiQAAA", "LastName": "Bad checksum"},
    ]}
    results = sf.restful("composite/sobjects", method="PATCH", data=json.dumps(body),
                         headers={"Content-Type": "application/json"})
    if not isinstance(results, list) or len(results) != 2:
        fail(f"collections answer is not a list of 2 results: {results!r}")
    if results[0].get("success") is not True or results[0].get("errors") != []:
        fail(f"first record was not updated: {results[0]!r}")
    if results[1].get("success") is not False or results[1]["errors"][0]["statusCode"] != "MALFORMED_ID":
        fail(f"bad Id was not refused with MALFORMED_ID: {results[1]!r}")

    usage = sf.api_usage.get("api-usage")
    if usage is None or usage.total <= 0 or usage.used <= 0:
        fail(f"api_usage not parsed from Sforce-Limit-Info: {sf.api_usage!r}")

    limits = sf.limits()
    daily = limits.get("DailyApiRequests", {})
    if "Max" not in daily or "Remaining" not in daily:
        fail(f"limits() lacks DailyApiRequests: {limits!r}")

    record = sf.Contact.get(args.contact_id)
    if record.get("FirstName") != "Grace" or record.get("crm_1_seg__c") != "realized":
        fail(f"the record does not hold what was sent: {record!r}")

    print(json.dumps({
        "loginRefused": refused,
        "results": results,
        "apiUsage": {"used": usage.used, "total": usage.total},
        "dailyApiRequests": daily,
        "record": {k: record.get(k) for k in ("Id", "FirstName", "LastName", "crm_1_seg__c")},
        "requests": seen,
    }))


# --- Bulk API 2.0 and sObject Collections upsert (run with --bulk) ---------------------------

def bulk_fail(report, message):
    print(json.dumps(report, default=str))
    fail(message)


def csv_rows(text):
    """The rows of a result CSV as dicts (Python's own csv reader, not ours)."""
    import csv
    import io
    return list(csv.DictReader(io.StringIO(text)))


def bulk_main():
    """Bulk 2.0 update and upsert through sf.bulk2, then a Collections upsert through sf.restful.

    Needs a Contact external Id field --external-field, Contacts --contact-ids (two), one Contact
    holding --known-key in that field, and two holding --duplicate-key (the Swift test makes them).
    """
    parser = argparse.ArgumentParser()
    parser.add_argument("--bulk", action="store_true")
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--contact-ids", required=True)
    parser.add_argument("--external-field", default="Ext__c")
    parser.add_argument("--known-key", required=True)
    parser.add_argument("--duplicate-key", required=True)
    parser.add_argument("--username", default="integration@emulator.sfdest")
    parser.add_argument("--password", default="emulator-pw")
    parser.add_argument("--security-token", default="TOKEN123")
    parser.add_argument("--consumer-key", default="sfdest-emulator-consumer-key")
    parser.add_argument("--consumer-secret", default="sfdest-emulator-consumer-secret")
    parser.add_argument("--domain", default="emulator-dev-ed.my")
    args = parser.parse_args()
    first, second = args.contact_ids.split(",")
    field = args.external_field

    seen = []
    session = requests.Session()
    session.mount("https://", LoopbackAdapter(args.base_url, seen))
    sf = Salesforce(username=args.username, password=args.password + args.security_token,
                    consumer_key=args.consumer_key, consumer_secret=args.consumer_secret,
                    domain=args.domain, session=session, version="66.0")
    report = {"requests": seen}

    # Bulk 2.0 update: a comma and quotes, a newline, and a malformed Id.
    update = sf.bulk2.Contact.update(records=[
        {"Id": first, "Title": 'Bulk, "one"'},
        {"Id": second, "Title": "two\nlines"},
        {"Id": "003xx000004TmiQAAA", "Title": "bad checksum"},
    ], wait=0.1)
    report["update"] = update
    if len(update) != 1 or update[0]["numberRecordsProcessed"] != 3 or update[0]["numberRecordsFailed"] != 1:
        bulk_fail(report, f"bulk2 update did not process 3 rows with 1 failure: {update!r}")
    job_id = update[0]["job_id"]
    successful = csv_rows(sf.bulk2.Contact.get_successful_records(job_id))
    failed = csv_rows(sf.bulk2.Contact.get_failed_records(job_id))
    report["updateSuccessful"] = successful
    report["updateFailed"] = failed
    if sorted(row["sf__Id"] for row in successful) != sorted([first, second]):
        bulk_fail(report, f"successful records are not the two contacts: {successful!r}")
    if any(row["sf__Created"] != "false" for row in successful):
        bulk_fail(report, f"an update said it created a record: {successful!r}")
    if len(failed) != 1 or not failed[0]["sf__Error"].startswith("MALFORMED_ID:") \
            or failed[0]["Id"] != "003xx000004TmiQAAA":
        bulk_fail(report, f"the malformed Id was not a MALFORMED_ID failed row: {failed!r}")
    if sf.Contact.get(first).get("Title") != 'Bulk, "one"' or sf.Contact.get(second).get("Title") != "two\nlines":
        bulk_fail(report, "the bulk update's values did not land as sent")

    # Bulk 2.0 upsert by the external Id: one created, one updated (its empty LastName cell
    # leaves the name alone).
    upsert = sf.bulk2.Contact.upsert(records=[
        {field: "ss-new", "LastName": "Created"},
        {field: args.known_key, "LastName": ""},
    ], external_id_field=field, wait=0.1)
    report["upsert"] = upsert
    if upsert[0]["numberRecordsProcessed"] != 2 or upsert[0]["numberRecordsFailed"] != 0:
        bulk_fail(report, f"bulk2 upsert did not write both rows: {upsert!r}")
    upserted = csv_rows(sf.bulk2.Contact.get_successful_records(upsert[0]["job_id"]))
    report["upsertSuccessful"] = upserted
    created = {row[field]: row["sf__Created"] for row in upserted}
    if created != {"ss-new": "true", args.known_key: "false"}:
        bulk_fail(report, f"upsert created/updated flags are wrong: {upserted!r}")

    # sObject Collections upsert: a new key, and a key two records hold.
    answer = sf.restful(f"composite/sobjects/Contact/{field}", method="PATCH", json={
        "allOrNone": False, "records": [
            {"attributes": {"type": "Contact"}, field: "ss-collection", "LastName": "Collected"},
            {"attributes": {"type": "Contact"}, field: args.duplicate_key, "LastName": "Ambiguous"},
        ]})
    report["collectionsUpsert"] = answer
    if not isinstance(answer, list) or len(answer) != 2:
        bulk_fail(report, f"collections upsert answer is not 2 results: {answer!r}")
    if answer[0].get("success") is not True or answer[0].get("created") is not True:
        bulk_fail(report, f"the new key was not created: {answer[0]!r}")
    duplicate = (answer[1].get("errors") or [{}])[0]
    if answer[1].get("success") is not False or duplicate.get("statusCode") != "DUPLICATE_EXTERNAL_ID":
        bulk_fail(report, f"the shared key was not refused DUPLICATE_EXTERNAL_ID: {answer[1]!r}")
    report["createdByCollections"] = answer[0].get("id")
    print(json.dumps(report, default=str))


def jwt_main():
    """The JWT bearer flow (`--jwt-private-key FILE`): simple-salesforce signs the assertion with
    PyJWT (aud https://{domain}.salesforce.com, exp as a string of seconds) and logs in with it."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--jwt-private-key", required=True)
    parser.add_argument("--username", default="integration@emulator.sfdest")
    parser.add_argument("--consumer-key", default="sfdest-emulator-consumer-key")
    parser.add_argument("--domain", default="login")
    args = parser.parse_args()

    seen = []
    session = requests.Session()
    session.mount("https://", LoopbackAdapter(args.base_url, seen))

    # A user the org does not pre-authorize is refused with Salesforce's words.
    try:
        Salesforce(username="someone-else@emulator.sfdest", consumer_key=args.consumer_key,
                   privatekey_file=args.jwt_private_key, domain=args.domain, session=session, version="66.0")
        fail("an assertion for another user was accepted")
    except SalesforceAuthenticationFailed as error:
        refused = str(error)
        if "invalid_grant" not in refused or "user hasn't approved this consumer" not in refused:
            fail(f"unexpected JWT refusal: {refused}")

    sf = Salesforce(username=args.username, consumer_key=args.consumer_key,
                    privatekey_file=args.jwt_private_key, domain=args.domain, session=session, version="66.0")
    expected = f"POST {args.domain}.salesforce.com/services/oauth2/token"
    if seen[:2] != [expected, expected]:
        fail(f"the JWT logins did not go to the token endpoint: {seen}")
    limits = sf.limits()
    if "DailyApiRequests" not in limits:
        fail(f"limits() with the JWT session lacks DailyApiRequests: {limits!r}")

    print(json.dumps({"jwtRefused": refused, "sessionId": bool(sf.session_id), "requests": seen}))


if __name__ == "__main__":
    if "--bulk" in sys.argv:
        bulk_main()
    elif "--jwt-private-key" in sys.argv:
        jwt_main()
    else:
        main()
