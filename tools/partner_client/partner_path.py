#!/usr/bin/env python3
"""A partner's path through cofund, driven by the Python client generated from the OpenAPI
document with openapi-python-client (see .ci/client): a token from the partner's client
credentials, the live campaigns, a pledge with its Idempotency-Key (and the same key again),
the pledge read back, and invalid pledges read as problem documents. Any mismatch fails.

Usage: partner_path.py BASE_URL CLIENT_ID CLIENT_SECRET   (with the generated `cofund_client`
importable)
"""

import sys
import uuid
from http import HTTPStatus

from cofund_client import AuthenticatedClient, Client
from cofund_client.api.auth import token
from cofund_client.api.campaigns import list_campaigns
from cofund_client.api.payments import create_campaigns_pledges, get_pledges
from cofund_client.models import (
    CampaignStatus,
    ClientCredentialsGrant,
    ClientCredentialsGrantType,
    CreatePledge,
    DonorInput,
    PageCampaignView,
    PledgeCreated,
    PledgeView,
    Problem,
    TokenResponse,
)


def expect(cond, what):
    if not cond:
        raise SystemExit(f"partner path: MISMATCH: {what}")
    print(f"partner path: ok: {what}")


def main(base, client_id, client_secret):
    # Undocumented statuses raise: the client is only as good as the document.
    anonymous = Client(base_url=base, raise_on_unexpected_status=True)
    grant = ClientCredentialsGrant(
        client_id=client_id,
        client_secret=client_secret,
        grant_type=ClientCredentialsGrantType.CLIENT_CREDENTIALS,
    )
    res = token.sync_detailed(client=anonymous, body=grant)
    expect(
        res.status_code == HTTPStatus.OK and isinstance(res.parsed, TokenResponse),
        f"a token for the partner's client credentials ({res.status_code})",
    )
    client = AuthenticatedClient(
        base_url=base, token=res.parsed.access_token, raise_on_unexpected_status=True
    )

    res = list_campaigns.sync_detailed(client=client, status=CampaignStatus.LIVE, limit=50)
    expect(
        res.status_code == HTTPStatus.OK and isinstance(res.parsed, PageCampaignView),
        "the live campaigns, as a typed page",
    )
    live = res.parsed.data
    expect(len(live) > 0, f"{len(live)} live campaign(s)")
    expect(all(c.status == CampaignStatus.LIVE for c in live), "every campaign listed is live")
    campaign = live[0]

    key = str(uuid.uuid4())
    body = CreatePledge(
        amount="12.00",
        donor=DonorInput(name="Partner Path", email="partner.path@example.org"),
    )
    res = create_campaigns_pledges.sync_detailed(
        campaign.id, client=client, body=body, idempotency_key=key
    )
    expect(
        res.status_code == HTTPStatus.CREATED and isinstance(res.parsed, PledgeCreated),
        f"a pledge of 12.00 to {campaign.id} ({res.status_code}: {res.content[:200]!r})",
    )
    pledge = res.parsed
    expect(pledge.campaign_id == campaign.id and pledge.amount == "12.00", "the pledge as sent")

    again = create_campaigns_pledges.sync_detailed(
        campaign.id, client=client, body=body, idempotency_key=key
    )
    expect(
        isinstance(again.parsed, PledgeCreated) and again.parsed.id == pledge.id,
        "the same Idempotency-Key answers the same pledge",
    )

    res = get_pledges.sync_detailed(pledge.id, client=client)
    expect(
        res.status_code == HTTPStatus.OK and isinstance(res.parsed, PledgeView),
        "the pledge read back",
    )
    expect(
        res.parsed.id == pledge.id
        and res.parsed.campaign_id == campaign.id
        and res.parsed.amount == "12.00",
        "the pledge read back is the one created",
    )

    bad = CreatePledge(
        amount="-5.00",
        donor=DonorInput(name="Partner Path", email="partner.path@example.org"),
    )
    res = create_campaigns_pledges.sync_detailed(
        campaign.id, client=client, body=bad, idempotency_key=str(uuid.uuid4())
    )
    expect(
        res.status_code == HTTPStatus.UNPROCESSABLE_ENTITY and isinstance(res.parsed, Problem),
        f"a negative amount is a 422 problem ({res.status_code})",
    )
    problem = res.parsed
    expect(
        problem.status == 422
        and problem.code == "validation_failed"
        and res.headers.get("content-type") == "application/problem+json",
        f"the problem says why: {problem.code}: {problem.detail}",
    )
    fields = [e.field for e in (problem.errors or [])]
    expect("amount" in fields, f"the problem names the field: {fields}")

    nul = CreatePledge(
        amount="5.00", donor=DonorInput(name="Nul\u0000Name", email="nul@example.org")
    )
    res = create_campaigns_pledges.sync_detailed(
        campaign.id, client=client, body=nul, idempotency_key=str(uuid.uuid4())
    )
    expect(
        isinstance(res.parsed, Problem) and res.parsed.code == "invalid_text",
        f"a NUL in the donor's name is a 422 invalid_text problem ({res.status_code})",
    )
    print("partner path: passed")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    main(*sys.argv[1:])
