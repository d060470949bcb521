"""The demo city walked in a real Chromium: a donor gives until the threshold is crossed and
sees the match; an association creates and submits a campaign; a reviewer approves it and it
goes live; the finance office reads its funds and reconciliation; axe-core finds no serious or
critical violation on any page; another association's campaign and a forged form are refused.
Run by `.ci/browser`, which starts a demo-seeded server and sets the environment below."""

import datetime
import json
import os
import re
import subprocess
import urllib.request

import pytest
from playwright.sync_api import expect, sync_playwright

BASE = os.environ["COFUND_URL"]
SHOTS = os.environ["SCREENSHOT_DIR"]
AXE = open(os.environ["AXE_JS"], encoding="utf-8").read()


def logins():
    """username -> password, from what `cofund demo` printed."""
    found = {}
    for line in open(os.environ["COFUND_DEMO_LOGINS"], encoding="utf-8"):
        m = re.match(r"^\s+.+?\s{2,}(\S+)\s+(pw_\S+)\s*$", line)
        if m:
            found[m.group(1)] = m.group(2)
    return found


LOGINS = logins()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=os.environ["CHROMIUM"], args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def page(browser):
    # axe is injected by the test harness, so this context lets it past the page's CSP; the
    # pages themselves never run a script.
    context = browser.new_context(bypass_csp=True, locale="en-GB")
    p = context.new_page()
    yield p
    context.close()


def shot(page, name):
    os.makedirs(SHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def no_serious_violations(page):
    page.evaluate(AXE)
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert bad == [], f"{page.url}: {bad}"


def sign_in(page, username):
    page.goto(f"{BASE}/login?lang=en")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(LOGINS[username])
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/console"))


def console_nav(page):
    return page.get_by_role("navigation", name="Console")


def api(path):
    with urllib.request.urlopen(f"{BASE}{path}") as r:
        return json.loads(r.read())


def campaign_by_title(title):
    for c in api("/v1/campaigns?status=live&limit=200")["data"]:
        if c["title"] == title:
            return c
    raise AssertionError(f"no live campaign {title}")


def test_public_pages_are_accessible(page):
    for path, name in [
        ("/?lang=en", "home"),
        ("/areas?lang=en", "areas"),
        ("/transparency?lang=en", "transparency"),
        ("/login?lang=en", "login"),
        ("/?lang=it", "home-it"),
    ]:
        page.goto(BASE + path)
        no_serious_violations(page)
        shot(page, name)
    page.goto(f"{BASE}/areas?lang=en")
    expect(page.locator("svg.map path.area").first).to_be_visible()
    assert page.locator("svg.map circle.pin").count() >= 1


def test_a_donor_gives_until_the_threshold_and_sees_the_match(page):
    c = campaign_by_title("Doposcuola in Barriera")
    page.goto(f"{BASE}/?lang=en")
    page.get_by_role("link", name="Doposcuola in Barriera").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Doposcuola in Barriera")
    no_serious_violations(page)
    threshold = float(c["threshold"])
    raised = float(c["raised"])
    gift = 5000.00
    n = 0
    while raised < threshold:
        page.get_by_role("link", name="Donate").click()
        no_serious_violations(page) if n == 0 else None
        if n == 0:
            shot(page, "donate")
        page.get_by_label("Amount").fill(f"{gift:.2f}")
        page.get_by_label("Your name").fill(f"Donor {n}")
        page.get_by_label("Your e-mail (for the receipt)").fill(f"donor{n}@example.org")
        page.get_by_role("button", name="Donate and pay").click()
        expect(page.get_by_role("status")).to_contain_text("Thank you")
        raised += gift
        n += 1
    expect(page.locator("main")).to_contain_text("Match reserved")
    expect(page.locator("main")).to_contain_text("reserved from the fund")
    shot(page, "campaign-matched")
    after = api(f"/v1/campaigns/{c['id']}")
    assert after["match"]["status"] == "reserved"
    assert float(after["raised"]) >= threshold


def test_an_association_creates_and_submits_and_a_reviewer_approves_it_live(page, browser):
    sign_in(page, "barriera")
    expect(page.get_by_role("heading", level=1)).to_have_text("What needs you now")
    no_serious_violations(page)
    shot(page, "console-association")
    console_nav(page).get_by_role("link", name="New campaign").click()
    expect(console_nav(page).get_by_role("link", name="New campaign")).to_have_attribute("aria-current", "page")
    no_serious_violations(page)
    where = campaign_by_title("Doposcuola in Barriera")["location"]
    start = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=2))
    page.get_by_label("Fund").select_option(label="Crowdfunding civico Torino 2026")
    page.get_by_label("Title").fill("Ciclofficina di Barriera")
    page.get_by_label("Summary").fill("A bicycle repair workshop run by young people.")
    page.get_by_label("Goal (EUR)").fill("25000.00")
    page.get_by_label("Latitude").fill(str(where["lat"]))
    page.get_by_label("Longitude").fill(str(where["lon"]))
    page.get_by_label("Starts (UTC)").fill(start.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("status")).to_contain_text("Campaign created")
    row = page.locator("tr", has_text="Ciclofficina di Barriera")
    row.get_by_role("link", name="Edit").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Edit the campaign")
    no_serious_violations(page)
    page.get_by_label("Summary").fill("A bicycle repair workshop run by young people, open on Saturdays.")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Campaign saved")
    row = page.locator("tr", has_text="Ciclofficina di Barriera")
    row.get_by_role("button", name="Submit for review").click()
    expect(page.get_by_role("status")).to_contain_text("submitted")

    reviewer = browser.new_context(bypass_csp=True, locale="en-GB").new_page()
    sign_in(reviewer, "reviewer")
    no_serious_violations(reviewer)
    shot(reviewer, "console-reviewer")
    reviewer.get_by_role("link", name=re.compile(r"campaigns? to review")).click()
    no_serious_violations(reviewer)
    card = reviewer.locator("article", has_text="Ciclofficina di Barriera")
    card.get_by_role("button", name="Approve").click()
    expect(reviewer.get_by_role("status")).to_contain_text("approved")
    # The scheduler takes it live at its start.
    cid = None
    for _ in range(40):
        found = [c for c in api("/v1/campaigns?status=live&limit=200")["data"]
                 if c["title"] == "Ciclofficina di Barriera"]
        if found:
            cid = found[0]["id"]
            break
        reviewer.wait_for_timeout(250)
    assert cid, "the approved campaign went live"
    reviewer.goto(f"{BASE}/campaigns/{cid}?lang=en")
    expect(reviewer.locator("main")).to_contain_text("Live")
    reviewer.context.close()


def sql(statement):
    """Runs SQL on the server's database (to let time pass, as the API tests do)."""
    url = os.environ["COFUND_DATABASE_URL"]
    if url.startswith("sqlite://"):
        import sqlite3
        with sqlite3.connect(url[len("sqlite://"):]) as db:
            db.execute(statement)
    else:
        subprocess.run(["psql", url, "-qc", statement], check=True)


def test_the_finance_office_pays_a_committed_match_and_downloads_both_files(page):
    # The donor test crossed this campaign's threshold; it now ends and is decided.
    c = campaign_by_title("Doposcuola in Barriera")
    ended = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=1))
    sql(f"UPDATE campaigns SET ends_at = '{ended.strftime('%Y-%m-%d %H:%M:%S')}' "
        f"WHERE id = '{c['id']}'")
    for _ in range(60):
        if api(f"/v1/campaigns/{c['id']}")["match"]["status"] == "committed":
            break
        page.wait_for_timeout(250)
    assert api(f"/v1/campaigns/{c['id']}")["match"]["status"] == "committed"

    sign_in(page, "finance")
    expect(page.locator("main")).to_contain_text("every invariant holds")
    console_nav(page).get_by_role("link", name="Funds").click()
    expect(page.locator("main")).to_contain_text("Fondazione CRT")
    no_serious_violations(page)
    page.get_by_role("link", name="Crowdfunding civico Torino 2026").click()
    expect(page.locator("main")).to_contain_text("Funds and funders")
    no_serious_violations(page)
    shot(page, "console-fund")
    page.get_by_role("button", name="Create a batch of committed matches").first.click()
    expect(page.get_by_role("status")).to_contain_text("Draft batch created")
    no_serious_violations(page)
    shot(page, "console-finance")
    with page.expect_download() as sepa:
        page.get_by_role("link", name="SEPA pain.001").first.click()
    xml = open(sepa.value.path(), encoding="utf-8").read()
    assert "pain.001.001.03" in xml and "Associazione Barriera Solidale" in xml
    with page.expect_download() as treasury:
        page.get_by_role("link", name="Treasury orders (CSV)").first.click()
    csv_text = open(treasury.value.path(), encoding="utf-8").read()
    assert csv_text.startswith("progressivo_beneficiario,")
    assert "20000.00" in csv_text
    # Four eyes: the batch's creator may not confirm it; the refusal says why.
    page.get_by_label("Bank or treasury reference").first.fill("OPI 2026/0001")
    page.get_by_label("Paid on").first.fill(datetime.date.today().isoformat())
    page.get_by_role("button", name="Confirm paid").first.click()
    expect(page.locator("main")).to_contain_text("cannot confirm it")
    # A second finance user confirms it.
    page.context.clear_cookies()
    sign_in(page, "treasurer")
    page.get_by_role("link", name=re.compile(r"batch(es)? to confirm as paid")).click()
    page.get_by_label("Bank or treasury reference").first.fill("OPI 2026/0001")
    page.get_by_label("Paid on").first.fill(datetime.date.today().isoformat())
    page.get_by_role("button", name="Confirm paid").first.click()
    expect(page.get_by_role("status")).to_contain_text("confirmed as paid")
    assert api(f"/v1/campaigns/{c['id']}")["match"]["status"] == "settled"
    # Its grant: in the list, and its page with the figures, the tranche paid and the parts.
    page.goto(f"{BASE}/console/grants?lang=en")
    expect(page.locator("main")).to_contain_text("Doposcuola in Barriera")
    no_serious_violations(page)
    page.get_by_role("link", name="Doposcuola in Barriera").first.click()
    expect(page.locator("main")).to_contain_text("Parts per funder")
    expect(page.locator("main")).to_contain_text("€20,000.00")
    no_serious_violations(page)
    shot(page, "console-grant")
    # The public page says where the grant stands, with the spending accepted as a bar.
    page.goto(f"{BASE}/campaigns/{c['id']}?lang=en")
    expect(page.locator("main")).to_contain_text("Accepted spending")
    no_serious_violations(page)
    # In Italian, money and dates read as an Italian reader writes them.
    page.goto(f"{BASE}/campaigns/{c['id']}?lang=it")
    expect(page.locator("main")).to_contain_text(re.compile(r"40\.000,00\s€"))
    page.goto(f"{BASE}/transparency?lang=it")
    expect(page.locator("main")).to_contain_text(re.compile(r"20\.000,00\s€"))
    months = "gennaio|febbraio|marzo|aprile|maggio|giugno|luglio|agosto|settembre|ottobre|novembre|dicembre"
    expect(page.locator("main")).to_contain_text(re.compile(rf"\d{{1,2}} ({months}) \d{{4}}"))
    # The grant is in the public register.
    page.goto(f"{BASE}/transparency?lang=en")
    expect(page.locator("main")).to_contain_text("Associazione Barriera Solidale")
    no_serious_violations(page)
    shot(page, "transparency-award")


def test_another_associations_draft_and_a_forged_form_are_refused(page):
    # A page that does not exist is a page, and accessible too.
    response = page.goto(f"{BASE}/no/such/page?lang=en")
    assert response.status == 404
    no_serious_violations(page)
    sign_in(page, "barriera")
    barriera = [a["id"] for a in api_as_admin("/v1/associations?limit=200")["data"]
                if a["name"] == "Associazione Barriera Solidale"]
    drafts = api_as_admin("/v1/campaigns?status=draft&limit=200")["data"]
    others = [c for c in drafts if c["association_id"] not in barriera]
    assert others, "the demo has another association's draft"
    response = page.goto(f"{BASE}/campaigns/{others[0]['id']}?lang=en")
    assert response.status == 404
    # A form posted without the session's token is refused.
    status = page.evaluate(
        """async (id) => (await fetch(`/console/campaigns/${id}/submit`, {method: 'POST',
             headers: {'content-type': 'application/x-www-form-urlencoded'},
             body: 'csrf_token=forged'})).status""",
        others[0]["id"],
    )
    assert status == 403


def api_as_admin(path):
    body = json.dumps({"grant_type": "password", "username": "admin",
                       "password": LOGINS["admin"]}).encode()
    req = urllib.request.Request(f"{BASE}/v1/auth/token", data=body,
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req) as r:
        token = json.loads(r.read())["access_token"]
    req = urllib.request.Request(f"{BASE}{path}", headers={"authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read())


def test_the_admin_console_is_accessible_and_registers_an_association(page):
    sign_in(page, "admin")
    no_serious_violations(page)
    shot(page, "console-admin")
    console_nav(page).get_by_role("link", name="Associations").click()
    no_serious_violations(page)
    form = page.locator("form[action='/console/admin/associations']")
    form.get_by_label("Name").fill("Circolo Vanchiglia APS")
    form.get_by_label("Tax code").fill("00774480016")
    form.get_by_label("IBAN").fill("IT61X0306909606100000012345")
    form.get_by_label("E-mail").fill("info@vanchiglia.example")
    form.get_by_role("button", name="Register the association").click()
    expect(page.get_by_role("status")).to_contain_text("Association registered")
    expect(page.locator("main")).to_contain_text("Circolo Vanchiglia APS (00774480016)")


def admin_token():
    body = json.dumps({"grant_type": "password", "username": "admin",
                       "password": LOGINS["admin"]}).encode()
    req = urllib.request.Request(f"{BASE}/v1/auth/token", data=body,
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read())["access_token"]


def test_a_call_for_proposals_is_accessible_to_the_public_the_admin_and_an_evaluator(page, browser):
    # Last in the file: a call changes how the fund takes new campaigns.
    token = admin_token()
    fund = api("/v1/funds?limit=1")["data"][0]
    now = datetime.datetime.now(datetime.timezone.utc)
    call = {
        "windows": [{"opens_at": (now - datetime.timedelta(hours=1)).isoformat(),
                     "closes_at": (now + datetime.timedelta(days=1)).isoformat()}],
        "criteria": [{"code": "quality", "label": "Project quality", "max_points": 60},
                     {"code": "impact", "label": "Social impact", "max_points": 40}],
        "pass_mark": "60",
    }
    req = urllib.request.Request(f"{BASE}/v1/funds/{fund['id']}/call", method="PUT",
                                 data=json.dumps(call).encode(),
                                 headers={"content-type": "application/json",
                                          "authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req) as r:
        assert r.status == 200
    page.goto(f"{BASE}/calls/{fund['id']}?lang=en")
    expect(page.locator("main")).to_contain_text("Project quality")
    no_serious_violations(page)
    shot(page, "call-public")
    page.goto(f"{BASE}/calls/{fund['id']}?lang=it")
    no_serious_violations(page)
    sign_in(page, "admin")
    page.goto(f"{BASE}/console/calls?fund_id={fund['id']}&lang=en")
    expect(page.locator("main")).to_contain_text("Applications")
    no_serious_violations(page)
    shot(page, "console-calls-admin")
    reviewer = browser.new_context(bypass_csp=True, locale="en-GB").new_page()
    sign_in(reviewer, "reviewer")
    reviewer.goto(f"{BASE}/console/calls?lang=en")
    # The demo's call: the evaluator scored its three applications; the ranking is published.
    expect(reviewer.locator("main")).to_contain_text("Portierato sociale in Barriera")
    no_serious_violations(reviewer)
    shot(reviewer, "console-calls-evaluator")


def test_an_association_posts_news_and_a_donor_asks_for_receipts(page):
    # The association tells its donors what happened, from its campaign's page.
    found = [c for c in api("/v1/campaigns?limit=200")["data"] if c["title"] == "Doposcuola in Barriera"]
    assert found, "the demo's campaign is public"
    sign_in(page, "barriera")
    page.goto(f"{BASE}/campaigns/{found[0]['id']}?lang=en")
    page.get_by_label("Title of the update").fill("The after-school club has opened")
    page.get_by_label("What happened").fill("Photos: https://example.org/photos\nThank you all.")
    page.get_by_role("button", name="Publish and send").click()
    expect(page.get_by_role("status")).to_contain_text("Update published")
    link = page.get_by_role("link", name="https://example.org/photos")
    expect(link).to_have_attribute("rel", "nofollow ugc noopener noreferrer")
    no_serious_violations(page)
    shot(page, "campaign-update")
    # A donor asks for their receipts: the same answer for any address.
    page.context.clear_cookies()
    page.goto(f"{BASE}/receipts?lang=en")
    no_serious_violations(page)
    page.get_by_label("E-mail address").fill("donor0@example.org")
    page.get_by_role("button", name="Send me the link").click()
    expect(page.get_by_role("status")).to_contain_text("If this address has donated")
    no_serious_violations(page)
    shot(page, "receipts-asked")
    page.goto(f"{BASE}/receipts/rcl_unknown?lang=en")
    expect(page.get_by_role("button", name="Show my receipts")).to_be_visible()
    no_serious_violations(page)
    page.get_by_role("button", name="Show my receipts").click()
    expect(page.get_by_role("alert")).to_contain_text("has been used, has expired or does not exist")
    no_serious_violations(page)


def fits_and_is_accessible(page):
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height <= 3000, f"{page.url}: {height} px tall"
    no_serious_violations(page)


def test_every_console_page_fits_and_every_page_reads_on_a_phone(browser):
    """No console page is taller than 3,000 px at 1280 px wide; at 390 px (a phone) no page,
    console or public, and not the badge, is wider than the screen (wide tables scroll in
    their own box)."""
    seen = []
    for user in ["barriera", "reviewer", "finance", "admin"]:
        context = browser.new_context(bypass_csp=True, locale="en-GB",
                                      viewport={"width": 1280, "height": 900})
        page = context.new_page()
        sign_in(page, user)
        links = console_nav(page).get_by_role("link")
        hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
        assert len(hrefs) >= 4, hrefs
        for href in hrefs:
            page.goto(f"{BASE}{href}?lang=en")
            expect(console_nav(page).locator("[aria-current=page]")).to_have_count(1)
            fits_and_is_accessible(page)
            seen.append((user, href))
        if user == "finance":
            # A grant's page (the demo's paid campaign has one), and a fund's with its charts.
            page.goto(f"{BASE}/console/grants?lang=en")
            page.get_by_role("link", name="Sportello di quartiere a Mirafiori").first.click()
            expect(page.locator("main")).to_contain_text("Parts per funder")
            fits_and_is_accessible(page)
            page.goto(f"{BASE}/console/funds?lang=en")
            page.get_by_role("link", name="Uno a uno: Città e Fondazione CRT").click()
            expect(page.locator("svg.chart")).to_be_visible()
            fits_and_is_accessible(page)
        page.set_viewport_size({"width": 390, "height": 844})
        for href in hrefs:
            page.goto(f"{BASE}{href}?lang=it")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"{user} {href} at 390 px: {width} px wide"
        page.goto(f"{BASE}/console?lang=en")
        no_serious_violations(page)
        shot(page, f"phone-console-{user}")
        context.close()
    assert len(seen) >= 20
    phone = browser.new_context(bypass_csp=True, locale="it-IT",
                                viewport={"width": 390, "height": 844}).new_page()
    c = campaign_by_title("Murales partecipato in Barriera")
    for path in ["/", "/areas", "/transparency", "/receipts", "/login",
                 f"/campaigns/{c['id']}", f"/campaigns/{c['id']}/donate",
                 f"/v1/campaigns/{c['id']}/badge.svg"]:
        phone.goto(f"{BASE}{path}")
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} at 390 px: {width} px wide"
    phone.goto(f"{BASE}/campaigns/{c['id']}")
    no_serious_violations(phone)
    shot(phone, "phone-campaign")
    phone.context.close()
