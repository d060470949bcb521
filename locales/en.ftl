# cofund pages, English. Keep the same keys as it.ftl (a test checks).
skip-to-content = Skip to content
nav-label = Main
nav-campaigns = Campaigns
nav-areas = Target areas
nav-transparency = Transparency
nav-console = Console
nav-logout = Sign out
nav-login = Sign in
footer = cofund — civic crowdfunding with public match funding. Only confirmed donations count.
back-home = Back to the campaigns
error-generic = Something went wrong
error-400 = The request was not understood
error-401 = Please sign in
error-403 = Not allowed
error-404 = Not found
error-405 = Not allowed here
error-409 = Not possible now
error-413 = Too large
error-415 = Unsupported form
error-422 = Please check the form
error-429 = Too many attempts
error-500 = Something went wrong on our side
error-502 = The payment provider did not answer
error-503 = The service is busy

home-title = Live campaigns
home-intro = Associations raise money for projects in the city's target areas; when a campaign reaches its threshold, the city adds its match.
filter-area = Target area
filter-all-areas = All areas
filter-apply = Show
home-none = No live campaign here at the moment.
card-figures = { $raised } of { $goal } raised from { $count ->
    [one] one donor
   *[other] { $shown } donors
}
bar-label = Raised { $raised }, match { $match }, goal { $goal }

status-draft = Draft
status-submitted = Submitted for review
status-approved = Approved
status-live = Live
status-closing = Closing
status-succeeded = Succeeded
status-failed = Did not reach its threshold
status-rejected = Rejected
status-cancelled = Cancelled
match-none = No match yet
match-waitlisted = Waiting for budget
match-reserved = Match reserved
match-committed = Match committed
match-settled = Match paid
match-revoked = Match released

donate-thanks = Thank you: your donation is confirmed and counted below.
campaign-progress = Progress
campaign-decision = The match, explained
campaign-donate = Donate
campaign-badge = Badge for your website
campaign-badge-copy = Copy this code into your web page:
campaign-crowd = Donations: { $raised } from { $count ->
    [one] one donor
   *[other] { $shown } donors
} (threshold { $threshold }).
campaign-match = Match: { $status }, { $amount }.
explain-none = When confirmed donations reach { $threshold }, the fund reserves its match for this campaign.
explain-waitlisted = Donations reached the threshold, but the fund's budget is used up: the campaign waits in line and gets its match as soon as budget is freed or added.
explain-reserved = Donations reached the threshold of { $threshold }: { $amount } is reserved from the fund and becomes the campaign's when it succeeds.
explain-committed = The campaign succeeded: { $amount } is committed and the city will pay it to the association.
explain-settled = The city has paid the match of { $amount } to the association.
explain-revoked = The campaign did not succeed: its match went back to the fund and donations are refunded.

areas-title = Target areas
areas-intro = The neighbourhoods where the programme funds projects, with the live campaigns marked.
areas-list = All areas
areas-code = Code
areas-name = Name
areas-live = Live campaigns
areas-none = No target area has been drawn yet.
areas-map-title = Map of the target areas and live campaigns

transparency-title = Transparency register
transparency-intro = Grants of public money to associations, published as Legislative Decree 33/2013 (art. 26–27) requires before they are paid.
transparency-year = Year
transparency-json = The register as open data (JSON; CSV with Accept: text/csv)
transparency-none = No grant published for this year.
transparency-caption = Grants published in { $year }
transparency-date = Date
transparency-beneficiary = Beneficiary
transparency-amount = Amount
transparency-basis = Legal basis
transparency-office = Office and official
transparency-method = How chosen
transparency-project = Project

login-title = Sign in
login-username = Username
login-password = Password
login-submit = Sign in
login-failed = Wrong username or password.

donate-title = Donate
donate-simulated = Reference checkout with the simulated payment provider: no real money moves.
donate-amount = Amount
donate-name = Your name
donate-email = Your e-mail (for the receipt)
donate-tax-code = Tax code (optional)
donate-tax-hint = Needed only if you want your deduction in the pre-filled tax return.
donate-anonymous = Hide my name from the association and the public
donate-submit = Donate and pay
donate-not-live = This campaign does not take donations now.

console-title = Console
console-signed-in = Signed in as { $role }.
console-own-campaigns = Your campaigns
console-no-campaigns = No campaign yet.
console-campaign = Campaign
console-status = Status
console-raised = Raised
console-match = Match
console-actions = Actions
console-rejected-because = Rejected:
console-submit = Submit for review
console-new-campaign = New campaign
console-fund = Fund
console-field-title = Title
console-field-summary = Summary
console-field-goal = Goal (EUR)
console-field-location = Location
console-location-hint = Type the coordinates and press Create, or fill in the rest and click the place on the map.
console-field-lat = Latitude
console-field-lon = Longitude
console-map-pick = Click the map to create the campaign at that place:
console-map-alt = Map of the target areas: click to place the campaign
console-field-starts = Starts (UTC)
console-field-ends = Ends (UTC)
console-create = Create
console-donations = Donations received in { $year }
console-no-donations = No donation yet this year.
console-receipt = Receipt
console-date = Date
console-donor = Donor
console-amount = Amount
console-voided = voided
console-queue = Review queue
console-queue-empty = Nothing to review.
console-approve = Approve
console-reject-reason = Reason for rejecting
console-reject = Reject
console-funds = Funds and funders
console-funder = Funder
fig-budget = Budget
fig-held = Held
fig-reserved = Reserved
fig-committed = Committed
fig-settled = Paid
fig-available = Available
console-settlements = Settlement batches
console-no-settlements = No batch yet.
console-batch = Batch
console-files = Files
console-treasury = Treasury orders (CSV)
console-admin = Administration
console-admin-api = Areas, funds, funders, associations, users and partners are managed through the API:
role-admin = programme administrator
role-reviewer = evaluator
role-finance = finance office
role-association = association member
role-partner = partner
done-created = Campaign created as a draft.
done-submitted = Campaign submitted for review.
done-approved = Campaign approved.
done-rejected = Campaign rejected; the association has been told why.
donor-anonymous = Anonymous
donor-erased = (erased)
queue-goal = Goal { $goal }
chart-label = Each funder's budget: paid, committed and reserved
reconciliation-ok = Reconciliation: every invariant holds.
reconciliation-bad = { $count ->
    [one] Reconciliation: one problem to look at (GET /v1/reconciliation).
   *[other] Reconciliation: { $shown } problems to look at (GET /v1/reconciliation).
}
console-create-batch = Create a batch of committed matches
console-bank-reference = Bank or treasury reference
console-paid-on = Paid on
console-confirm-paid = Confirm paid
done-batch = Draft batch created: download its files, pay, then confirm it.
done-paid = Batch confirmed as paid.
admin-associations = Associations
admin-name = Name
admin-tax-code = Tax code
admin-email = E-mail
admin-runts = RUNTS number (optional)
admin-add-association = Register the association
admin-staff = City staff
admin-role = Role
admin-add-user = Add the user
admin-partners = Partner frontends
admin-webhook-url = Webhook URL (optional)
admin-add-partner = Register the partner
admin-areas = Target areas
admin-geojson = GeoJSON FeatureCollection (each feature with a code and a name)
admin-import = Import
admin-secrets = Partner registered. Its secrets are shown only now: copy them to the partner.
done-association = Association registered.
done-user = User added.
done-areas = Areas imported.
history-label = { $fund }: reserved, committed and paid over time
edit-title = Edit the campaign
edit-save = Save
console-edit = Edit
done-edited = Campaign saved.
admin-funds = Match funds
admin-threshold = Threshold (share of the goal the crowd raises, 0–1)
admin-match = Match (share of the goal the fund adds, 0–1)
admin-max-match = Most per campaign (EUR, optional)
admin-opens = Opens (UTC)
admin-closes = Closes (UTC)
admin-eligible-areas = Eligible target areas
admin-office = Office in charge
admin-official = Responsible official
admin-siope = SIOPE code
admin-add-fund = Open the fund
admin-funders = Co-funders
admin-kind = Kind
admin-kind-private = Private (a foundation, a company)
admin-kind-public = Public body
admin-add-funder = Add the funder
done-fund = Fund opened.
done-funder = Funder added.
admin-members = Association members
admin-association = Association
admin-add-member = Add the member
done-member = Member added: they can sign in now.
admin-users = Users
admin-disabled = disabled
admin-active = active
admin-disable = Disable
done-disabled = Disabled: its sessions and tokens stop working now.
console-commitments = Commitments
console-award = Transparency register
award-published = published
award-unpublished = waiting for the register fields
commitment-committed = payable
commitment-in_batch = in a draft batch
commitment-settled = paid
grants-title = Grants
grants-back-console = Back to the console
grants-back-list = All grants
grants-filter-status = Status
grants-filter-any = Any status
grants-filter = Filter
grants-none = No grant yet: a grant opens when a campaign's match is committed.
grants-none-filtered = No grant in this status.
grants-none-own = No grant yet: one opens when a campaign of yours succeeds with its match.
grants-console-hint = The city's contribution to each succeeded campaign, paid against the final report.
grants-all = All grants
grants-to-approve = Reports to approve
grants-to-review = Grants under review
grants-overdue = Overdue reports
grant-title = Grant
grant-campaign-page = Campaign page
grant-advance-ratio = advance
grant-decision-reason = Reason of the last decision:
grant-figures = Figures
grant-awarded = Awarded
grant-award = Award after reductions
grant-goal = Project cost (goal)
grant-accepted = Accepted spending
grant-due = Contribution due
grant-paid = Paid
grant-payable = Payable now
grant-in-batch = In a draft batch
grant-not-yet-payable = Not yet payable
grant-released = Returned to the funders
grant-recoverable = To be paid back
grant-recovered = Paid back
grant-report-due = Report due
grant-reported-on = Report submitted
grant-approved-on = Report approved
grant-tranches = Tranches
grant-no-tranches = No tranche yet.
grant-tranche-kind = Tranche
grant-parts = Parts per funder
grant-approve-title = Approve the final report
grant-approve-hint = Every expense line must be checked first. The contribution due becomes the award times the accepted spending over the goal, at most the award; the rest goes back to the funders, the balance becomes payable, and anything paid beyond the due is to be paid back.
grant-approve = Approve the report
grant-review-title = Decide the review
grant-review-hint = Money left the campaign after the decision: nothing of this grant is paid until you decide.
grant-review-outcome = Decision
grant-review-confirm = Confirm the award
grant-review-reduce = Reduce the award to the amount below
grant-review-revoke = Revoke the grant
grant-review-amount = New award (only to reduce)
grant-reason = Reason
grant-review-decide = Decide
grant-recovery-title = Record money paid back
grant-recovery-hint = Still to be paid back: { $amount }
grant-received-on = Received on
grant-recovery-record = Record the repayment
grant-revoke-title = Revoke the grant
grant-revoke-hint = Nothing more is paid: the unpaid award goes back to the funders and everything paid is to be paid back.
grant-revoke = Revoke
grant-status-open = open: the association reports its spending
grant-status-reported = report submitted
grant-status-approved = report approved
grant-status-closed = closed
grant-status-overdue = report overdue
grant-status-under_review = under review
grant-status-revoked = revoked
grant-award-awarded = awarded
grant-award-reduced = reduced
grant-award-revoked = revoked
grant-plan-on_commitment = paid in full on commitment
grant-plan-tranches = paid in tranches
tranche-kind-advance = advance
tranche-kind-balance = balance
tranche-kind-full = full award
tranche-status-payable = payable
tranche-status-in_batch = in a draft batch
tranche-status-paid = paid
tranche-status-cancelled = replaced by a later decision
done-grant-approved = Report approved: the contribution due is fixed.
done-grant-reviewed = Review decided.
done-grant-recovered = Repayment recorded.
done-grant-revoked = Grant revoked.
public-grant-title = The city's contribution
public-grant-open = The project is under way: the association will report what it spent, and the city pays its contribution against that report.
public-grant-reported = The association has submitted its final report: the city is checking it.
public-grant-approved = The city approved the final report and pays its contribution for the spending accepted.
public-grant-closed = The city approved the final report and has paid its contribution in full.
public-grant-overdue = The association's final report is late: the city waits for it before paying the rest.
public-grant-under_review = Donations left the campaign after it succeeded: the city's contribution is on hold while it reviews it.
public-grant-revoked = The city revoked its contribution to this project.
public-grant-spending = Accepted spending: { $accepted } of { $goal } (the project's cost).
public-grant-paid = Paid by the city so far: { $paid } of { $award }.
report-documents = Documents
report-no-documents = No document yet.
report-filename = File
report-size = Size
report-type = Type
report-upload-file = A PDF, JPEG or PNG file (at most 10 MB)
report-upload-hint = The file is recognised by its content; the name is kept only to show it.
report-upload = Upload
report-expenses = Expense lines
report-no-expenses = No expense line yet.
report-category = Category
report-supplier = Supplier
report-supplier-tax-code = Supplier's tax code or VAT number (optional)
report-document-number = Invoice or receipt number
report-document-date = Document date
report-paid-on = Paid on
report-method = Payment method
report-cited = Documents cited
report-check = Check
report-accept = Accept
report-reject = Reject
report-add-expense = Add an expense line
report-add = Add the line
report-summary = What was done with the money
report-submit-title = Submit the final report
report-submit-hint = Once submitted, no document or expense line can be added: reviewers and finance check each line, then finance approves the report.
report-submit = Submit the report
payment-method-bank_transfer = bank transfer
payment-method-card = card
payment-method-cash = cash
payment-method-cheque = cheque
payment-method-other = other
expense-status-submitted = to be checked
expense-status-accepted = accepted
expense-status-rejected = rejected
done-grant-uploaded = Document uploaded.
done-grant-expense-added = Expense line added.
done-grant-report-submitted = Final report submitted.
done-grant-checked = Expense line checked.
bank-title = Bank transfers
bank-console-hint = Import your bank's camt.053 statements: each credit naming a donation's reference confirms it.
bank-open = Statements and credits
bank-import-title = Import a statement
bank-import-file = camt.053 statement (XML, at most 5 MB)
bank-import-hint = Download it from your online banking for the association's account: credits already imported are not booked twice.
bank-import = Import the statement
bank-imported = Statement imported: { $booked } credits booked, { $already } already booked; { $matched } matched, { $flagged } flagged, { $unmatched } unmatched.
bank-entries-title = Credits booked
bank-none = No credit booked yet.
bank-none-filtered = No credit in this status.
bank-reference = Reference
bank-debtor = Sender
bank-note = Note
bank-more = Older credits
bank-status-matched = matched
bank-status-flagged = flagged
bank-status-unmatched = unmatched
bank-status-assigned = assigned
bank-unmatched-title = Unmatched bank credits
bank-finance-hint = Credits of the associations' statements that named no waiting donation: assign each to its pledge.
bank-unmatched-open = Assign unmatched credits
bank-show = Show
bank-none-unmatched = No unmatched credit for this association.
bank-assign-hint = The pledge must be a waiting bank-transfer donation to this association, for the same amount.
bank-pledge-id = Pledge id (plg_…)
bank-assign = Assign
bank-done-assigned = Credit assigned: the donation is confirmed.
donate-method = Payment method
donate-method-card = Card (simulated payment)
donate-method-bank = Bank transfer
donate-method-bank-hint = You will get the association's IBAN and a reference to give as the transfer's reason.
transfer-title = Pay by bank transfer
transfer-intro = Your donation is recorded and waits for your transfer. Send it from your bank with these details:
transfer-beneficiary = Beneficiary
transfer-reference = Reference
transfer-expires = Waits until
transfer-causale = Type the reference exactly as the transfer's reason (causale): that is how the association recognises your donation.
transfer-waits = If the money has not arrived by { $date }, the donation lapses.
transfer-back = Back to the campaign

## Calls for proposals
call-title = Call for proposals
call-windows = Application windows
call-window = Window
call-opens = Opens
call-closes = Closes
call-criteria = Evaluation criteria
call-criterion = Criterion
call-max-points = Maximum points
call-rules = Applications scoring at least { $pass } out of { $max } are admitted in rank order while the fund's budget covers their possible top-up; each is scored by { $evaluators } evaluators without a conflict of interest, and ties go to the earlier submission.
call-rankings = Rankings
call-no-ranking = No ranking has been published yet.
call-ranking-of = Window { $window }, version { $version }, published { $date }
call-rank = Rank
call-project = Project
call-score = Score
call-outcome = Outcome
call-commission = Evaluation commission
call-api-hint = The same ranking as data (JSON, or CSV with Accept: text/csv):
call-outcome-admitted = Admitted
call-outcome-eligible_not_funded = Eligible, not funded
call-outcome-below_pass_mark = Below the pass mark
call-console-title = Calls for proposals
call-console-hint = Applications, the commission's declarations and scores, the rankings and appeals.
call-console-open = Open calls for proposals
call-my-assignments = Applications you evaluate
call-no-assignments = No application is assigned to you.
call-scored = scored
call-not-scored = not scored
call-conflict = conflict of interest declared
call-no-conflict = no conflict of interest
call-undeclared = not yet declared
call-declare = Before scoring, declare whether you have a conflict of interest with the applicant (art. 6-bis L. 241/1990)
call-note = Note (optional)
call-declare-submit = Declare
call-comment = Comment
call-score-submit = Save scores
call-no-calls = No fund runs a call for proposals yet.
call-fund = Fund
call-public-page = Public page of the call
call-publish = Publish the ranking of window { $window }
call-advance = Admit the next that fit in window { $window }
call-applications = Applications
call-no-applications = No applications yet.
call-assign = Set the commission
call-appeals = Pending appeals
call-no-appeals = No pending appeals.
call-decision = Decision
call-appeal-upheld = Upheld
call-appeal-dismissed = Dismissed
call-appeal-pending = Appeal pending
call-reason = Reason
call-decide = Decide
call-my-applications = Your applications
call-awaiting = Waiting for the ranking
call-appeal-text = Why the outcome should be reviewed
call-appeal = Appeal
call-done-declared = Declaration recorded.
call-done-scored = Scores saved.
call-done-assigned = Commission set.
call-done-published = Ranking published.
call-done-advanced = The next applications that fit were admitted.
call-done-appealed = Appeal sent.
call-done-decided = Appeal decided.

## The embeddable badge
badge-line = { $raised } raised + { $match } city match of { $goal }
badge-aria = { $title }: { $raised } raised, { $match } city match, goal { $goal }
badge-status-live = live
badge-status-closing = closing
badge-status-succeeded = funded
badge-status-failed = not funded
badge-status-cancelled = cancelled
badge-status-approved = coming soon

## Project updates
updates-title = News from the project
updates-none = No news yet.
updates-form-title = Title of the update
updates-form-body = What happened
updates-form-hint = Plain text; web addresses become links. It is e-mailed to the donors who agreed to be contacted (at most 3 updates a day).
updates-form-send = Publish and send
done-update = Update published and sent to the donors who agreed to be contacted.

## Donors' own receipts
my-receipts-title = Your donation receipts
my-receipts-intro = Give the e-mail address you donated with: if it gave through cofund, we send it a link to all its receipts, valid for 24 hours and usable once.
my-receipts-email = E-mail address
my-receipts-send = Send me the link
my-receipts-sent = If this address has donated, a link to its receipts is on its way. It works once, within 24 hours.
my-receipts-confirm = Open your receipts now? The link works once: print or save the page it shows.
my-receipts-open = Show my receipts
my-receipts-gone = This link has been used, has expired or does not exist.
my-receipts-again = Ask for a new link
my-receipts-print = This link has now been used: print this page or save it as PDF for your tax return.
my-receipts-none = No receipt to show.
my-receipts-receipt = Receipt
my-receipts-issuer = Issued by
my-receipts-donor = Donor
my-receipts-tax-code = tax code
my-receipts-refunded = Refunded
my-receipts-method = Payment method
my-receipts-causale = Purpose
my-receipts-law = Liberal donation under art. 83 of Legislative Decree 117/2017, made with a traceable means of payment.
nav-receipts = Your receipts

## The console's navigation, queues and lists
cnav-label = Console
cnav-queue = Needs you now
cnav-campaigns = Campaigns
cnav-new-campaign = New campaign
cnav-donations = Donations
cnav-grants = Grants
cnav-bank-transfers = Bank transfers
cnav-calls = Calls for proposals
cnav-review = Review
cnav-funds = Funds
cnav-settlements = Batches
cnav-bank-entries = Bank credits
cnav-associations = Associations
cnav-staff = Staff
cnav-partners = Partners
cnav-setup = Funds and areas set-up
queue-title = What needs you now
queue-all-clear = Nothing waits for you.
queue-to-review = { $count ->
    [one] One campaign to review
   *[other] { $shown } campaigns to review
}
queue-to-score = { $count ->
    [one] One application to score
   *[other] { $shown } applications to score
}
queue-drafts = { $count ->
    [one] One draft campaign to complete and submit
   *[other] { $shown } draft campaigns to complete and submit
}
queue-rejected = { $count ->
    [one] One campaign sent back by the reviewers
   *[other] { $shown } campaigns sent back by the reviewers
}
queue-reports-due = { $count ->
    [one] One grant whose spending report is due
   *[other] { $shown } grants whose spending report is due
}
queue-credits-to-match = { $count ->
    [one] One bank credit that matched no donation
   *[other] { $shown } bank credits that matched no donation
}
queue-reports-to-approve = { $count ->
    [one] One grant report to approve
   *[other] { $shown } grant reports to approve
}
queue-grants-under-review = { $count ->
    [one] One grant under review
   *[other] { $shown } grants under review
}
queue-tranches-payable = { $count ->
    [one] One tranche payable, in no batch yet
   *[other] { $shown } tranches payable, in no batch yet
}
queue-batches-to-confirm = { $count ->
    [one] One batch to confirm as paid
   *[other] { $shown } batches to confirm as paid
}
queue-credits-unclaimed = { $count ->
    [one] One bank credit no donation claimed
   *[other] { $shown } bank credits no donation claimed
}
reconciliation-title = Reconciliation
pager-label = Pages
pager-position = Page { $page } of { $pages }
pager-prev = Previous page
pager-next = Next page
filter-text = Contains
list-filter = Filter
filter-any = Any status
filter-none = Nothing matches this filter.
funds-intro = Each fund's budget and where it stands; open a fund for its funders, commitments and history.
funds-open = Open
settlements-filter = Status
settlement-status-draft = Draft, to confirm
settlement-status-confirmed = Confirmed as paid
people-intro = The associations registered in the city, and their members.
staff-intro = The city's staff who sign in to the console.
partners-intro = The partner platforms that collect donations through the API.
setup-intro = New funds, their funders and the target areas.
settlement-status-cancelled = Cancelled
funds-to-batch = Committed money waits for a batch.
history-none = No money of this fund has been reserved, committed or paid yet.
