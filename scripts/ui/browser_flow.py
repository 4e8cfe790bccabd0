#!/usr/bin/env python3
"""The web UI driven in headless Chromium (Debian's chromium and chromium-driver, selenium from
pip), against a real `sfdest serve` and the Salesforce emulator: the whole flow from an empty
service to delivered records, a view-only key, CSRF refused, logout.

Usage: browser_flow.py --base-url http://127.0.0.1:PORT --api-key KEY --emulator-url URL --out DIR

The org's side (custom fields, a field changed by its admin) goes through the emulator's admin
API; profiles go through POST /v1/profiles; everything a person does goes through the browser.
Screenshots of each page are written to DIR. Prints a JSON report; exits 1 at the first failed
check, with a screenshot and the page's HTML next to it.
"""
import argparse
import json
import os
import sys
import time
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait


class CheckFailed(Exception):
    pass


class Flow:
    def __init__(self, args):
        self.base = args.base_url.rstrip("/")
        self.key = args.api_key
        self.emulator = args.emulator_url.rstrip("/")
        self.out = args.out
        self.steps = []
        self.screenshots = []
        os.makedirs(self.out, exist_ok=True)
        options = Options()
        for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                         "--window-size=1280,900", "--lang=en-US"]:
            options.add_argument(argument)
        if args.chromium:
            options.binary_location = args.chromium
        self.driver = webdriver.Chrome(service=Service(args.chromedriver), options=options)
        self.driver.set_page_load_timeout(120)

    # helpers ---------------------------------------------------------------------------------

    def check(self, condition, message):
        if not condition:
            raise CheckFailed(message)

    def step(self, name):
        self.steps.append(name)
        print(f"step: {name}", file=sys.stderr, flush=True)

    def shot(self, name):
        """A screenshot of the whole page (the window grown to the page's height)."""
        height = self.driver.execute_script("return Math.max(document.body.scrollHeight, 900)")
        self.driver.set_window_size(1280, min(height + 40, 6000))
        path = os.path.join(self.out, f"{name}.png")
        self.driver.save_screenshot(path)
        self.driver.set_window_size(1280, 900)
        self.screenshots.append(path)

    def wait(self, condition, timeout=45, message="timed out"):
        # A monitoring page redraws itself while work is in flight: an element found just before
        # a redraw is stale, and the condition is tried again on the new one.
        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.2,
                                 ignored_exceptions=(StaleElementReferenceException,)).until(condition)
        except TimeoutException:
            raise CheckFailed(message)

    def click(self, selector, timeout=45):
        """Clicks the element, finding it again when a redraw replaced it between find and click."""
        def attempt(_):
            try:
                self.driver.find_element(By.CSS_SELECTOR, selector).click()
                return True
            except (NoSuchElementException, StaleElementReferenceException):
                return False
        self.wait(attempt, timeout, f"could not click {selector} on {self.driver.current_url}")

    def find(self, selector, timeout=45):
        return self.wait(EC.presence_of_element_located((By.CSS_SELECTOR, selector)), timeout, f"no element {selector} on {self.driver.current_url}")

    def exists(self, selector):
        return len(self.driver.find_elements(By.CSS_SELECTOR, selector)) > 0

    def text(self):
        return self.driver.find_element(By.TAG_NAME, "body").text

    def type(self, selector, value):
        element = self.find(selector)
        element.clear()
        element.send_keys(value)
        return element

    def go(self, path):
        self.driver.get(self.base + path)

    def wait_for_text(self, fragment, timeout=45):
        self.wait(lambda d: fragment in d.find_element(By.TAG_NAME, "body").text, timeout,
                  f"'{fragment}' never appeared on {self.driver.current_url}")

    def reload_until(self, predicate, timeout=180, message="condition never held"):
        deadline = time.time() + timeout
        while time.time() < deadline:
            self.driver.refresh()
            if predicate():
                return
            time.sleep(1)
        raise CheckFailed(message)

    def api(self, method, path, body=None, key=None, base=None, content_type="application/json"):
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        request = urllib.request.Request((base or self.base) + path, data=data, method=method)
        if key is not False:
            request.add_header("Authorization", f"Bearer {key or self.key}")
        if data is not None:
            request.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                text = response.read().decode()
                return response.status, (json.loads(text) if text else None)
        except urllib.error.HTTPError as error:
            text = error.read().decode()
            return error.code, (json.loads(text) if text.startswith("{") or text.startswith("[") else text)

    def emulator_admin(self, method, path, body=None):
        return self.api(method, path, body, key=False, base=self.emulator)

    def login(self, key):
        self.go("/ui/login")
        self.type("input[name=apiKey]", key)
        self.click("#sign-in")
        self.find("#key-name")

    def logout(self):
        self.click("#logout button")
        self.find("#login")

    # the flow --------------------------------------------------------------------------------

    def profile(self, contact_id, number, email=None, segments=None):
        return {
            "identityMap": {"crmID": [{"id": contact_id}]},
            "person": {"name": {"firstName": f"Ada{number}", "lastName": f"Lovelace-{number}"}},
            "workEmail": {"address": email or f"ada{number}@example.com"},
            "segmentMembership": {"ups": segments or {"seg-gold": {"status": "realized", "lastQualificationTime": "2026-11-20T10:00:00Z"}}},
        }

    def run(self):
        d = self.driver
        # The org: two Long Text Area fields for audience statuses, an email field to map.
        for name in ["crm_1_seg__c", "crm_2_seg__c"]:
            status, _ = self.emulator_admin("POST", "/emulator/fields", {"type": "Contact", "name": name, "fieldType": "textarea", "length": 32768})
            self.check(status in (200, 201, 409), f"emulator field {name}: {status}")  # 409: the org has it already
        status, _ = self.emulator_admin("POST", "/emulator/fields", {"type": "Contact", "name": "Work_Email__c", "fieldType": "email", "length": 80})
        self.check(status in (200, 201), f"emulator field Work_Email__c: {status}")
        _, contacts = self.emulator_admin("GET", "/emulator/records?type=Contact")
        _, leads = self.emulator_admin("GET", "/emulator/records?type=Lead")
        contact_ids, lead_ids = contacts["ids"], leads["ids"]
        self.check(len(contact_ids) >= 16 and len(lead_ids) >= 1, f"the emulator has {len(contact_ids)} Contacts, {len(lead_ids)} Leads")

        self.step("signed out: pages send to the login")
        self.go("/ui/")
        self.find("#login")
        self.check("/ui/login" in d.current_url, f"not sent to the login: {d.current_url}")
        self.shot("01-login")

        self.step("a wrong key is refused")
        self.type("input[name=apiKey]", "sfd_not_a_key_of_this_service_000000000")
        self.click("#sign-in")
        error = self.find("#login-error")
        self.check("not valid" in error.text, f"login error: {error.text}")
        self.check(not self.exists("#key-name"), "signed in with a wrong key")

        self.step("sign in with the bootstrap key: an empty service")
        self.login(self.key)
        self.check("No destination yet" in self.text(), "the empty service shows destinations")
        session = [c for c in d.get_cookies() if c["name"] == "sfdest_session"]
        self.check(session and session[0]["httpOnly"] and session[0].get("sameSite") == "Strict", f"session cookie: {session}")
        self.shot("02-empty")

        # Stored profiles before any destination: the mapping page suggests from them.
        status, answer = self.api("POST", "/v1/profiles", [self.profile(contact_ids[i], i) for i in range(6)])
        self.check(status == 202 and answer["accepted"] == 6, f"profiles: {status} {answer}")

        self.step("connect: Salesforce's refusal shown, then connected")
        self.click("a.button[href='/ui/connections']")
        self.type("#c-name", "Emulator org")
        self.click("#lk-url")
        self.type("#c-url", self.emulator)
        self.type("#p-user", "integration@emulator.sfdest")
        self.type("#p-pass", "wrong-password")
        self.type("#p-token", "TOKEN123")
        self.type("#p-key", "sfdest-emulator-consumer-key")
        self.type("#p-secret", "sfdest-emulator-consumer-secret")
        self.click("#connect")
        refusal = self.find(".flash.error")
        self.check("Salesforce refused the credentials" in refusal.text, f"refusal: {refusal.text}")
        self.check(self.find("#p-pass").get_attribute("value") == "", "the password came back to the browser")
        self.shot("03-connect-refused")
        self.type("#p-pass", "emulator-pw")
        self.type("#p-secret", "sfdest-emulator-consumer-secret")
        self.type("#p-token", "TOKEN123")
        self.click("#connect")
        self.wait_for_text("Connected: Emulator org reaches")
        self.check("connected" in self.find("#connections").text, "the connection is not listed as connected")
        self.shot("04-connected")

        self.step("create a Contact destination")
        self.go("/ui/")
        self.click("#new-destination")
        self.type("#d-name", "Sales contacts")
        self.type("#d-description", "Audiences for reps")
        self.click("#o-contact")
        self.click("#create-destination")
        self.find("#mapping")
        destination_id = d.current_url.rstrip("/").split("/")[-2]
        self.check(destination_id.startswith("dest_"), f"destination id from {d.current_url}")
        self.wait_for_text("Destination created as a draft")

        self.step("mapping: suggestions, a problem shown as typed, fixed")
        options = [o.get_attribute("value") for o in d.find_elements(By.CSS_SELECTOR, "#source-list option")]
        self.check("identityMap:crmID" in options and "xdm:person.name.lastName" in options, f"source suggestions: {options}")
        self.check(self.find("#source-0").get_attribute("value") == "identityMap:crmID", "the record key is not suggested")
        self.check(Select(self.find("#target-0")).first_selected_option.get_attribute("value") == "identity:SalesforceId", "row 1 is not the SalesforceId key")
        self.check(Select(self.find("#target-1")).first_selected_option.get_attribute("value") == "attribute:LastName", "the required LastName is not offered")
        self.type("#source-1", "person.name.lastName")  # no xdm: prefix: a problem
        self.wait(lambda _: "'person.name.lastName' must start with identityMap: or xdm:" in self.find("#live-problems").text,
                  message="no live problem for a wrong source: " + self.find("#live-problems").text)
        self.shot("05-mapping-problem")
        self.type("#source-1", "xdm:person.name.lastName")
        self.type("#source-2", "xdm:person.name.firstName")
        Select(self.find("#target-2")).select_by_value("attribute:FirstName")
        self.type("#source-3", "xdm:workEmail.address")
        Select(self.find("#target-3")).select_by_value("attribute:Work_Email__c")
        self.wait(lambda _: self.find("#live-problems").get_attribute("data-state") == "ready", message="the fixed mapping still has problems: " + self.find("#live-problems").text)
        self.shot("06-mapping")
        self.click("#save-mapping")
        self.find("#audiences")
        self.wait_for_text("Mapping saved")

        self.step("audiences: counts, a Mapping ID the org lacks, the review's problem, fixed")
        body = self.text()
        self.check("seg-gold" in body and "6 members" in body, "the stored audience and its members are not shown")
        gold = self.find("input[aria-label='Send seg-gold']")
        gold.click()
        row = gold.find_element(By.XPATH, "./ancestor::tr")
        mapping = row.find_element(By.CSS_SELECTOR, "input[name=mappingId]")
        mapping.send_keys("crm_9_seg")
        self.wait(lambda _: "crm_9_seg" in self.find("#live-problems").text, message="no live problem for a missing field: " + self.find("#live-problems").text)
        self.check(self.find("#fields-used").text == "1", f"fields used: {self.find('#fields-used').text}")
        self.click("#save-audiences")
        self.find("#problems")
        self.check("crm_9_seg" in self.find("#problems").text, self.find("#problems").text)
        self.check(not self.find("#enable").is_enabled(), "Enable is offered with a problem")
        self.shot("07-review-problem")
        self.click("#problems a[href$='/audiences']")
        gold = self.find("input[aria-label='Send seg-gold']")
        mapping = gold.find_element(By.XPATH, "./ancestor::tr").find_element(By.CSS_SELECTOR, "input[name=mappingId]")
        mapping.clear()
        mapping.send_keys("crm_1_seg")
        self.wait(lambda _: self.find("#live-problems").get_attribute("data-state") == "ready", message="the fixed audiences still have problems: " + self.find("#live-problems").text)
        self.shot("08-audiences")
        self.click("#save-audiences")
        self.find("#ready")
        self.shot("09-review-ready")

        self.step("enable")
        self.click("#enable")
        self.wait_for_text("Enabled: stored profiles are being sent")
        status, destination = self.api("GET", f"/v1/destinations/{destination_id}")
        self.check(destination["status"] == "enabled", f"status {destination['status']}")

        self.step("profiles posted: runs, records and failures visible")
        later = [self.profile(contact_ids[i], i) for i in range(6, 15)]
        later.append(self.profile(contact_ids[15], 15, email="ada at example"))  # the org refuses it
        later.append(self.profile(lead_ids[0], 99))  # a Lead Id on a Contact destination: excluded
        status, answer = self.api("POST", "/v1/profiles", later)
        self.check(status == 202 and answer["accepted"] == 11, f"profiles: {status} {answer}")
        self.go(f"/ui/destinations/{destination_id}")

        def delivered():
            _, view = self.api("GET", f"/v1/destinations/{destination_id}")
            backlog = view["backlog"]
            return backlog["pending"] + backlog["inFlight"] + backlog["retrying"] == 0 and backlog["failed"] >= 1
        # Generous: a loaded CI machine runs the whole suite beside this flow.
        deadline = time.time() + 180
        while not delivered():
            self.check(time.time() < deadline, "the records were not delivered within 180 s")
            time.sleep(0.5)
        self.reload_until(lambda: self.exists("#failures") and "INVALID_EMAIL_ADDRESS" in self.find("#failures").text,
                          message="the failure is not shown")
        self.check(self.exists("svg.chart rect"), "no runs chart")
        runs = self.find("#runs").text
        self.check("completed" in runs or "processing" in runs, f"runs: {runs}")
        self.check("ID_OF_OTHER_OBJECT" in self.find("#failures").text, "the exclusion is not shown")
        self.check("seg-gold" in self.find("#segments").text, "the audience counts are not shown")
        self.shot("10-monitoring")

        self.step("one record's history")
        self.type("#r-id", contact_ids[7])
        self.click("#record-lookup button")
        self.find("#acknowledged")
        self.check("Lovelace-7" in self.find("#acknowledged").text, self.find("#acknowledged").text)
        self.check("acknowledged" in self.find("#history").text, self.find("#history").text)
        self.shot("11-record")

        self.step("a failure replayed after the org is fixed")
        # The org's admin makes Work_Email__c a plain text field: the refused value now fits.
        status, _ = self.emulator_admin("DELETE", "/emulator/fields/Contact/Work_Email__c")
        self.check(status in (200, 204), f"delete field: {status}")
        status, _ = self.emulator_admin("POST", "/emulator/fields", {"type": "Contact", "name": "Work_Email__c", "fieldType": "string", "length": 80})
        self.check(status in (200, 201), f"re-add field: {status}")
        self.go(f"/ui/destinations/{destination_id}")
        self.click("button[data-code='INVALID_EMAIL_ADDRESS']")
        self.wait_for_text("1 record queued again")
        self.reload_until(lambda: not self.exists("button[data-code='INVALID_EMAIL_ADDRESS']"), message="the replayed record failed again")
        _, record = self.emulator_admin("GET", f"/emulator/records/{contact_ids[15]}")
        self.check(record.get("Work_Email__c") == "ada at example", f"the replayed record in the org: {record}")
        self.shot("12-replayed")

        self.step("alerts page")
        self.go("/ui/alerts")
        self.find("#new-subscription")
        self.shot("13-alerts")

        self.step("labels: a C2 label on a mapped source pauses the destination; taken off, it resumes")
        self.go("/ui/labels")
        self.find("#no-labels")
        self.type("#l-source", "xdm:workEmail.address")
        self.click("#label-C2")
        self.click("#save-label")
        self.wait_for_text("Paused by a policy")
        self.shot("14-labels")
        _, destination = self.api("GET", f"/v1/destinations/{destination_id}")
        self.check(destination["status"] == "paused_policy", f"status after the label: {destination['status']}")
        self.go(f"/ui/destinations/{destination_id}")
        self.check("noThirdPartyExport" in self.find("#paused-policy").text, "the destination page does not say which policy paused it")
        self.go(f"/ui/destinations/{destination_id}/mapping")
        self.check("cannot be mapped here" in self.find("#labels-panel").text, "the mapping page does not mark the labelled source")
        self.go("/ui/labels")
        self.type("#l-source", "xdm:workEmail.address")  # no label ticked: every label taken off
        self.click("#save-label")
        self.wait_for_text("Labels saved.")
        self.find("#no-labels")
        _, destination = self.api("GET", f"/v1/destinations/{destination_id}")
        self.check(destination["status"] == "enabled", f"status after the label was taken off: {destination['status']}")

        self.step("a view-only key made on the keys page")
        self.go("/ui/keys")
        self.type("#k-name", "reps viewer")
        self.click("#perm-view-destinations")
        self.click("#create-key")
        viewer_key = self.find("#new-key-value").text.strip()
        self.check(viewer_key.startswith("sfd_"), f"new key: {viewer_key}")
        self.shot("15-keys")

        self.step("CSRF: a form with a forged token is refused")
        self.go(f"/ui/destinations/{destination_id}")
        self.driver.execute_script("document.querySelectorAll('input[name=csrf]').forEach(function (f) { f.value = 'forged'; });")
        self.click("#disable")
        self.wait_for_text("CSRF token is missing or wrong")
        self.shot("16-csrf-refused")
        _, destination = self.api("GET", f"/v1/destinations/{destination_id}")
        self.check(destination["status"] == "enabled", "a forged form disabled the destination")

        self.step("audit log")
        self.go("/ui/audit")
        audit = self.find("#audit").text
        for action in ["connection.create", "destination.create", "destination.mappings", "destination.segments", "destination.enable", "failures.retry", "key.create"]:
            self.check(action in audit, f"the audit log lacks {action}")
        self.check("bootstrap key" in audit, "the audit log does not name the key")
        self.shot("17-audit")

        self.step("logout: the old session cookie is worthless")
        self.go("/ui/")
        old = [c for c in d.get_cookies() if c["name"] == "sfdest_session"][0]
        self.logout()
        d.add_cookie({"name": old["name"], "value": old["value"], "path": "/"})
        self.go("/ui/")
        self.find("#login")

        self.step("the view-only key sees no edit buttons and cannot change anything")
        self.login(viewer_key)
        self.check(not self.exists("#new-destination") and not self.exists("a.button[href='/ui/connections']"), "edit buttons for a view-only key")
        self.check("Sales contacts" in self.find("#destinations").text, "the viewer does not see the destination")
        self.go(f"/ui/destinations/{destination_id}")
        self.check(not self.exists("#disable") and not self.exists("form.replay"), "disable or replay offered to a view-only key")
        self.shot("18-viewer")
        self.go(f"/ui/destinations/{destination_id}/mapping")
        self.check(not self.exists("#save-mapping") and not self.find("#source-0").is_enabled(), "the viewer may edit mappings")
        # The server refuses the action anyway: a valid session and CSRF token, not the permission.
        result = self.driver.execute_async_script("""
            var done = arguments[arguments.length - 1];
            var body = new URLSearchParams({csrf: document.querySelector('input[name=csrf]').value});
            fetch(arguments[0], {method: 'POST', credentials: 'same-origin', body: body, redirect: 'manual',
                   headers: {'Content-Type': 'application/x-www-form-urlencoded'}})
              .then(function (r) { return r.text().then(function (t) { done([r.status, t]); }); })
              .catch(function (e) { done([0, String(e)]); });
        """, f"/ui/destinations/{destination_id}/disable")
        # The form redirects with the API's refusal as the next page's message.
        self.go(f"/ui/destinations/{destination_id}")
        refusal = self.text()
        self.check("lacks the permission activate-destinations" in refusal, f"no refusal shown: {result} {refusal[:300]}")
        _, destination = self.api("GET", f"/v1/destinations/{destination_id}")
        self.check(destination["status"] == "enabled", "a view-only key disabled the destination")
        self.go("/ui/keys")
        self.check("manage-keys" in self.text(), "the keys page is not refused to a view-only key")
        self.logout()
        return {"ok": True, "destinationId": destination_id, "steps": self.steps, "screenshots": self.screenshots,
                "contactIds": contact_ids[:16], "leadId": lead_ids[0]}

    def fail(self, error):
        try:
            self.driver.save_screenshot(os.path.join(self.out, "failure.png"))
            with open(os.path.join(self.out, "failure.html"), "w") as page:
                page.write(self.driver.page_source)
        except Exception:
            pass
        return {"ok": False, "error": str(error), "url": self.driver.current_url, "steps": self.steps}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--emulator-url", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--chromedriver", default="/usr/bin/chromedriver")
    parser.add_argument("--chromium", default=None)
    args = parser.parse_args()
    flow = Flow(args)
    try:
        report = flow.run()
    except Exception as error:  # every failure is reported with where it happened
        report = flow.fail(error)
    finally:
        flow.driver.quit()
    print(json.dumps(report, indent=2))
    sys.exit(0 if report["ok"] else 1)


if __name__ == "__main__":
    main()
