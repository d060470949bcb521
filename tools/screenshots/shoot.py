"""Takes the README's screenshots of a fresh demo city (see tools/screenshots/run)."""

import json
import os
import re
import urllib.request

from playwright.sync_api import sync_playwright

BASE = os.environ["COFUND_URL"]
OUT = os.environ["OUT"]
LOGINS = {}
for line in open(os.environ["COFUND_DEMO_LOGINS"], encoding="utf-8"):
    m = re.match(r"^\s+.+?\s{2,}(\S+)\s+(pw_\S+)\s*$", line)
    if m:
        LOGINS[m.group(1)] = m.group(2)


def campaign_id(title):
    with urllib.request.urlopen(f"{BASE}/v1/campaigns?limit=200") as r:
        for c in json.loads(r.read())["data"]:
            if c["title"] == title:
                return c["id"]
    raise SystemExit(f"no campaign {title}")


def fund_id(name):
    with urllib.request.urlopen(f"{BASE}/v1/funds?limit=200") as r:
        for f in json.loads(r.read())["data"]:
            if f["name"] == name:
                return f["id"]
    raise SystemExit(f"no fund {name}")


def sign_in(page, user):
    page.goto(f"{BASE}/login?lang=it")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", LOGINS[user])
    page.click("button[type=submit]")


def main():
    os.makedirs(OUT, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=os.environ["CHROMIUM"], args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="it-IT")
        page.goto(f"{BASE}/?lang=it")
        page.screenshot(path=f"{OUT}/home.png", full_page=True)
        page.goto(f"{BASE}/campaigns/{campaign_id('Cucina di comunità a San Salvario')}")
        page.screenshot(path=f"{OUT}/campaign.png", full_page=True)
        sign_in(page, "finance")
        page.screenshot(path=f"{OUT}/console-finance-queue.png", full_page=True)
        page.goto(f"{BASE}/console/funds/{fund_id('Crowdfunding civico Torino 2026')}")
        page.screenshot(path=f"{OUT}/console-finance.png", full_page=True)
        phone = browser.new_page(viewport={"width": 390, "height": 844}, locale="it-IT")
        phone.goto(f"{BASE}/campaigns/{campaign_id('Murales partecipato in Barriera')}?lang=it")
        phone.screenshot(path=f"{OUT}/phone-campaign.png", full_page=True)
        browser.close()


main()
