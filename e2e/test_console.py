"""The operator console in a real headless Chromium (Selenium and Debian's chromium-driver):
sign-in, every main page, a review decision and a card lock taken in the browser, CSRF, tenant
isolation and sign-out. Screenshots of the main pages go to e2e/screenshots/."""
import json
import shutil
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service as ChromeService
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from conftest import Server, call, wait_until, zentra
from test_authorizations import authorize, funded_card
from test_webhooks import WEBHOOK_ENV, Receiver

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"


@pytest.fixture
def browser():
    options = webdriver.ChromeOptions()
    for flag in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1366,900", "--disable-gpu"]:
        options.add_argument(flag)
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium:
        options.binary_location = chromium
    driver = webdriver.Chrome(service=ChromeService(shutil.which("chromedriver")), options=options)
    driver.implicitly_wait(2)
    yield driver
    driver.quit()


def sign_in(driver, port, key):
    driver.get(f"http://127.0.0.1:{port}/console")
    assert "/console/login" in driver.current_url, "an anonymous visit goes to the sign-in form"
    driver.find_element(By.NAME, "api_key").send_keys(key)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    WebDriverWait(driver, 10).until(expected_conditions.presence_of_element_located((By.ID, "review-size")))


def shot(driver, name):
    SCREENSHOTS.mkdir(exist_ok=True)
    driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def post_form(port, path, fields, cookie):
    """A form POST outside the browser, with the browser's session cookie; redirects are answers."""
    data = "&".join(f"{k}={v}" for k, v in fields.items()).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_console_in_a_real_browser(browser, sqlite_url):
    server = Server(sqlite_url, env=WEBHOOK_ENV)
    receiver = Receiver()
    try:
        port = server.port
        tenant = json.loads(zentra("tenant", "create", "acme", "--database", sqlite_url).stdout)
        admin = tenant["api_key"]
        operator = call(port, "POST", "/api-keys", {"role": "operator", "name": "Olivia"}, admin)[2]
        network = call(port, "POST", "/api-keys", {"role": "network"}, admin)[2]["api_key"]
        program = call(port, "POST", "/card-programs", {
            "name": "Reviewed", "currency": "USD", "bin": "424242", "review_rules": [{"type": "amount_over", "amount_minor": 5000}],
            "review_outcome": "approve", "spend_controls": {"daily_minor": 20000}}, admin)[2]
        card = funded_card(port, admin, program["id"], 50_000)
        endpoint = call(port, "POST", "/webhook-endpoints", {"url": receiver.url, "event_types": ["authorization.review"]}, admin)[2]
        approved = authorize(port, network, card, 1_200)[2]
        assert approved["status"] == "approved", approved
        held = authorize(port, network, card, 7_500)[2]
        assert held["status"] == "review", held
        last4 = call(port, "GET", f"/cards/{card}", key=admin)[2]["last4"]

        sign_in(browser, port, operator["api_key"])
        assert browser.find_element(By.ID, "review-size").text == "1"
        assert browser.find_element(By.ID, "authorizations-today").text == "2"
        assert browser.find_elements(By.CSS_SELECTOR, ".chart svg rect"), "the spend chart is drawn on the server"
        cookie = "; ".join(f"{c['name']}={c['value']}" for c in browser.get_cookies())
        session_cookie = next(c for c in browser.get_cookies() if c["name"] == "zentra_console")
        assert session_cookie["httpOnly"] and session_cookie["sameSite"] == "Strict"
        shot(browser, "dashboard")

        # The review queue: approve in the browser (the page asks for confirmation first).
        browser.get(f"http://127.0.0.1:{port}/console/review")
        shot(browser, "review-queue")
        row = browser.find_element(By.XPATH, f"//tr[td/a[text()='{held['id']}']]")
        row.find_element(By.CSS_SELECTOR, "button.approve").click()
        WebDriverWait(browser, 5).until(expected_conditions.alert_is_present()).accept()
        WebDriverWait(browser, 10).until(expected_conditions.text_to_be_present_in_element((By.ID, "authorization-status"), "approved"))
        assert call(port, "GET", f"/authorizations/{held['id']}", key=admin)[2]["status"] == "approved"
        assert "verified" in browser.find_element(By.ID, "signature-status").text
        assert browser.find_elements(By.CSS_SELECTOR, "table.trace tbody tr"), "the policy trace is listed"
        shot(browser, "authorization")
        audit = call(port, "GET", "/audit-log?limit=10", key=admin)[2]["data"]
        assert any(r["object_id"] == held["id"] and r["actor"] == operator["id"] for r in audit), "audited with the operator as actor"

        # Search by last4 leads to the card; lock it in the browser.
        browser.find_element(By.NAME, "q").send_keys(last4 + "\n")
        WebDriverWait(browser, 10).until(expected_conditions.presence_of_element_located((By.ID, "card-available")))
        assert browser.find_elements(By.CSS_SELECTOR, ".limit .bar"), "limits used are drawn as bars"
        shot(browser, "card")
        browser.find_element(By.CSS_SELECTOR, ".card-actions button.decline").click()
        WebDriverWait(browser, 5).until(expected_conditions.alert_is_present()).accept()
        WebDriverWait(browser, 10).until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, ".card-actions button.approve")))
        assert call(port, "GET", f"/cards/{card}", key=admin)[2]["status"] == "locked"

        # A clearing for more than was authorized opens a case; its transaction gets a dispute.
        status, _, clearing = call(port, "POST", "/clearings", {
            "clearing_id": str(uuid.uuid4()), "authorization": approved["id"], "card": card, "amount_minor": 1_350, "currency": "USD",
            "merchant": {"id": "m_1", "name": "Shop", "mcc": "5411", "country": "US"}}, network)
        assert status == 201 and clearing["reconciliation_case"], clearing
        status, _, dispute = call(port, "POST", "/disputes", {
            "transaction": clearing["transaction"], "reason": "fraudulent", "amount_minor": 1_350}, admin)
        assert status == 201, dispute
        browser.get(f"http://127.0.0.1:{port}/console/review")
        browser.find_element(By.LINK_TEXT, clearing["reconciliation_case"]).click()
        browser.find_element(By.XPATH, "//button[text()='Assign to me']").click()
        WebDriverWait(browser, 10).until(expected_conditions.text_to_be_present_in_element((By.ID, "case-status"), "assigned"))
        browser.find_element(By.NAME, "note").send_keys("tip added at the counter")
        browser.find_element(By.XPATH, "//button[text()='Resolve']").click()
        WebDriverWait(browser, 5).until(expected_conditions.alert_is_present()).accept()
        WebDriverWait(browser, 10).until(expected_conditions.text_to_be_present_in_element((By.ID, "case-status"), "resolved"))
        shot(browser, "reconciliation-case")
        case = call(port, "GET", f"/reconciliation-cases/{clearing['reconciliation_case']}", key=admin)[2]
        assert case["status"] == "resolved" and case["owner"] == operator["id"], case
        browser.get(f"http://127.0.0.1:{port}/console/disputes/{dispute['id']}")
        browser.find_element(By.XPATH, "//button[text()='Submit to the network']").click()
        WebDriverWait(browser, 10).until(expected_conditions.text_to_be_present_in_element((By.ID, "dispute-status"), "submitted"))
        browser.find_element(By.XPATH, "//button[text()='Won']").click()
        WebDriverWait(browser, 5).until(expected_conditions.alert_is_present()).accept()
        WebDriverWait(browser, 10).until(expected_conditions.text_to_be_present_in_element((By.ID, "dispute-status"), "won"))
        shot(browser, "dispute")
        assert call(port, "GET", f"/disputes/{dispute['id']}", key=admin)[2]["status"] == "won"

        # Webhook deliveries with their attempts; a replay sends the same webhook-id again.
        wait_until("the review event is delivered", lambda: len(receiver.calls) == 1)
        browser.get(f"http://127.0.0.1:{port}/console/webhooks")
        wait_until("the attempt is recorded", lambda: call(port, "GET", f"/webhook-endpoints/{endpoint['id']}/deliveries", key=admin)[2]["data"][0]["attempts"])
        browser.refresh()
        assert "HTTP 200" in browser.find_element(By.CSS_SELECTOR, "ol.attempts").text
        shot(browser, "webhooks")
        browser.find_element(By.XPATH, "//button[text()='Replay']").click()
        WebDriverWait(browser, 10).until(expected_conditions.text_to_be_present_in_element((By.CSS_SELECTOR, ".notice"), "same webhook-id"))
        wait_until("the replay arrives", lambda: len(receiver.calls) == 2)
        assert receiver.ids()[0] == receiver.ids()[1]

        browser.get(f"http://127.0.0.1:{port}/console/audit")
        shot(browser, "audit-log")
        assert "Chain verified" in browser.find_element(By.ID, "chain-status").text

        # CSRF: the session cookie alone does not make a form count.
        another = authorize(port, network, card, 100)[2]
        status, _ = post_form(port, f"/console/cards/{card}/unlock", {"csrf": "forged"}, cookie)
        assert status == 403
        status, _ = post_form(port, f"/console/cards/{card}/unlock", {}, cookie)
        assert status == 403
        assert call(port, "GET", f"/cards/{card}", key=admin)[2]["status"] == "locked", "nothing changed"
        assert another["status"] == "declined"

        # Tenant isolation: another tenant's operator sees none of it.
        other_admin = json.loads(zentra("tenant", "create", "other", "--database", sqlite_url).stdout)["api_key"]
        other_operator = call(port, "POST", "/api-keys", {"role": "operator"}, other_admin)[2]["api_key"]
        browser.find_element(By.CSS_SELECTOR, ".signout button").click()
        WebDriverWait(browser, 10).until(expected_conditions.presence_of_element_located((By.NAME, "api_key")))
        status, _ = post_form(port, f"/console/cards/{card}/unlock", {"csrf": "x"}, cookie)
        assert status == 303, "after sign-out the old cookie has no session"
        sign_in(browser, port, other_operator)
        assert browser.find_element(By.ID, "review-size").text == "0"
        browser.get(f"http://127.0.0.1:{port}/console/cards/{card}")
        assert "Not found" in browser.find_element(By.TAG_NAME, "h1").text
        browser.get(f"http://127.0.0.1:{port}/console/authorizations/{held['id']}")
        assert "Not found" in browser.find_element(By.TAG_NAME, "h1").text

        # Keys that are not operator or admin keys cannot sign in.
        browser.find_element(By.CSS_SELECTOR, ".signout button").click()
        browser.find_element(By.NAME, "api_key").send_keys(network)
        browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        assert "operator and admin keys" in browser.find_element(By.CSS_SELECTOR, ".error").text
        shot(browser, "sign-in")
    finally:
        assert server.stop() == 0
        receiver.close()


def test_a_review_is_settled_on_its_own_page(browser, sqlite_url):
    server = Server(sqlite_url)
    try:
        port = server.port
        admin = json.loads(zentra("tenant", "create", "acme", "--database", sqlite_url).stdout)["api_key"]
        operator = call(port, "POST", "/api-keys", {"role": "operator"}, admin)[2]["api_key"]
        network = call(port, "POST", "/api-keys", {"role": "network"}, admin)[2]["api_key"]
        program = call(port, "POST", "/card-programs", {
            "name": "Reviewed", "currency": "USD", "bin": "424242", "review_rules": [{"type": "amount_over", "amount_minor": 5000}]}, admin)[2]
        card = funded_card(port, admin, program["id"], 50_000)
        held = authorize(port, network, card, 6_000)[2]
        assert held["status"] == "review", held

        sign_in(browser, port, operator)
        browser.get(f"http://127.0.0.1:{port}/console/authorizations/{held['id']}")
        browser.find_element(By.CSS_SELECTOR, "#review-actions button.decline").click()
        WebDriverWait(browser, 5).until(expected_conditions.alert_is_present()).accept()
        WebDriverWait(browser, 10).until(expected_conditions.text_to_be_present_in_element((By.ID, "authorization-status"), "declined"))
        assert not browser.find_elements(By.ID, "review-actions"), "a settled review offers no actions"
        assert call(port, "GET", f"/authorizations/{held['id']}", key=admin)[2]["status"] == "declined"
    finally:
        assert server.stop() == 0
