// Table definitions shared by both backends (hand-kept in step with migrations/*).

diesel::table! {
    associations (id) {
        id -> Text,
        name -> Text,
        tax_code -> Text,
        iban -> Text,
        bic -> Nullable<Text>,
        email -> Text,
        created_at -> Timestamp,
        runts_id -> Nullable<Text>,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        username -> Text,
        password_hash -> Text,
        role -> Text,
        association_id -> Nullable<Text>,
        email -> Nullable<Text>,
        created_at -> Timestamp,
        disabled_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    partners (id) {
        id -> Text,
        name -> Text,
        client_id -> Text,
        client_secret_hash -> Text,
        webhook_url -> Nullable<Text>,
        webhook_secret -> Text,
        created_at -> Timestamp,
        disabled_at -> Nullable<Timestamp>,
        secret_rotated_at -> Nullable<Timestamp>,
        secret_version -> BigInt,
        webhook_secret_previous -> Nullable<Text>,
        webhook_secret_previous_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    areas (id) {
        id -> Text,
        code -> Text,
        name -> Text,
        geometry -> Text,
        created_at -> Timestamp,
        revision -> BigInt,
    }
}

diesel::table! {
    funds (id) {
        id -> Text,
        name -> Text,
        currency -> Text,
        budget -> BigInt,
        threshold_ratio -> Text,
        match_ratio -> Text,
        max_match_per_campaign -> Nullable<BigInt>,
        min_goal -> Nullable<BigInt>,
        max_goal -> Nullable<BigInt>,
        min_donors -> Integer,
        opens_at -> Timestamp,
        closes_at -> Timestamp,
        allocation -> Text,
        exhaustion_policy -> Text,
        cup -> Nullable<Text>,
        reserved -> BigInt,
        committed -> BigInt,
        settled -> BigInt,
        created_at -> Timestamp,
        held -> BigInt,
        funding_split -> Text,
        match_policy -> Text,
        max_match_per_donation -> Nullable<BigInt>,
        match_hold_secs -> Integer,
        min_contribution -> BigInt,
        distributed_at -> Nullable<Timestamp>,
        legal_basis -> Nullable<Text>,
        office -> Nullable<Text>,
        responsible_official -> Nullable<Text>,
        selection_method -> Nullable<Text>,
        siope_code -> Nullable<Text>,
        quadratic_identity -> Text,
        payment_plan -> Text,
        advance_ratio -> Nullable<Text>,
        reporting_days -> Integer,
        recoverable -> BigInt,
    }
}

diesel::table! {
    funders (id) {
        id -> Text,
        fund_id -> Text,
        name -> Text,
        kind -> Text,
        tax_code -> Nullable<Text>,
        iban -> Nullable<Text>,
        bic -> Nullable<Text>,
        priority -> Integer,
        share -> Nullable<Text>,
        budget -> BigInt,
        held -> BigInt,
        reserved -> BigInt,
        committed -> BigInt,
        settled -> BigInt,
        created_at -> Timestamp,
        recoverable -> BigInt,
    }
}

diesel::table! {
    match_parts (campaign_id, funder_id) {
        campaign_id -> Text,
        funder_id -> Text,
        fund_id -> Text,
        amount -> BigInt,
        settlement_id -> Nullable<Text>,
        settled -> Bool,
    }
}

diesel::table! {
    match_holds (pledge_id, funder_id) {
        pledge_id -> Text,
        funder_id -> Text,
        campaign_id -> Text,
        fund_id -> Text,
        amount -> BigInt,
        status -> Text,
        expires_at -> Timestamp,
        created_at -> Timestamp,
    }
}

diesel::table! {
    fund_areas (fund_id, area_id) {
        fund_id -> Text,
        area_id -> Text,
    }
}

diesel::table! {
    campaigns (id) {
        id -> Text,
        association_id -> Text,
        fund_id -> Text,
        area_id -> Text,
        title -> Text,
        summary -> Text,
        goal -> BigInt,
        currency -> Text,
        location_lat -> Double,
        location_lon -> Double,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        status -> Text,
        rejection_reason -> Nullable<Text>,
        raised -> BigInt,
        donors -> Integer,
        match_status -> Text,
        match_amount -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        waitlisted_at -> Nullable<Timestamp>,
        decided_at -> Nullable<Timestamp>,
        settlement_id -> Nullable<Text>,
        cost_plan -> Nullable<Text>,
    }
}

diesel::table! {
    settlements (id) {
        id -> Text,
        fund_id -> Text,
        status -> Text,
        currency -> Text,
        total -> BigInt,
        item_count -> Integer,
        message_id -> Text,
        bank_reference -> Nullable<Text>,
        paid_at -> Nullable<Timestamp>,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        confirmed_at -> Nullable<Timestamp>,
        cancelled_at -> Nullable<Timestamp>,
        funder_id -> Text,
    }
}

diesel::table! {
    settlement_items (id) {
        id -> Text,
        settlement_id -> Text,
        association_id -> Text,
        creditor_name -> Text,
        iban -> Text,
        bic -> Nullable<Text>,
        amount -> BigInt,
        end_to_end_id -> Text,
        remittance -> Text,
        status -> Text,
    }
}

diesel::table! {
    settlement_lines (settlement_id, tranche_id) {
        settlement_id -> Text,
        item_id -> Text,
        campaign_id -> Text,
        amount -> BigInt,
        tranche_id -> Text,
        tranche -> Text,
    }
}

diesel::table! {
    pledges (id) {
        id -> Text,
        campaign_id -> Text,
        partner_id -> Text,
        amount -> BigInt,
        currency -> Text,
        status -> Text,
        paid -> Bool,
        failed -> Bool,
        canceled -> Bool,
        expired -> Bool,
        refunded_amount -> BigInt,
        dispute -> Text,
        counted_amount -> BigInt,
        donor_key -> Text,
        message -> Nullable<Text>,
        provider -> Text,
        provider_payment_id -> Nullable<Text>,
        client_secret -> Nullable<Text>,
        provider_idempotency_key -> Text,
        idempotency_key -> Text,
        request_hash -> Text,
        creation_response -> Nullable<Text>,
        flagged_reason -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        confirmed_at -> Nullable<Timestamp>,
        flagged_amount -> Nullable<BigInt>,
        flagged_currency -> Nullable<Text>,
        processing -> Bool,
    }
}

diesel::table! {
    bank_statements (id) {
        id -> Text,
        association_id -> Text,
        iban -> Text,
        version -> Integer,
        credits -> Integer,
        booked -> Integer,
        imported_by -> Text,
        imported_at -> Timestamp,
    }
}

diesel::table! {
    bank_entries (id) {
        id -> Text,
        association_id -> Text,
        statement_id -> Text,
        booking_key -> Text,
        booking_date -> Date,
        amount -> BigInt,
        currency -> Text,
        bank_reference -> Nullable<Text>,
        reference -> Nullable<Text>,
        remittance -> Nullable<Text>,
        debtor_name -> Nullable<Text>,
        debtor_account -> Nullable<Text>,
        status -> Text,
        note -> Nullable<Text>,
        pledge_id -> Nullable<Text>,
        assigned_by -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    donors (pledge_id) {
        pledge_id -> Text,
        name -> Nullable<Text>,
        email -> Nullable<Text>,
        anonymous -> Bool,
        contact_consent -> Bool,
        locale -> Text,
        erased_at -> Nullable<Timestamp>,
        tax_code -> Nullable<Text>,
    }
}

diesel::table! {
    awards (id) {
        id -> Text,
        fund_id -> Text,
        funder_id -> Text,
        campaign_id -> Text,
        association_id -> Text,
        amount -> BigInt,
        currency -> Text,
        year -> Integer,
        awarded_at -> Timestamp,
        published_at -> Nullable<Timestamp>,
        beneficiary_name -> Text,
        beneficiary_tax_code -> Text,
        legal_basis -> Nullable<Text>,
        office -> Nullable<Text>,
        responsible_official -> Nullable<Text>,
        selection_method -> Nullable<Text>,
    }
}

diesel::table! {
    receipt_counters (association_id, year) {
        association_id -> Text,
        year -> Integer,
        last_number -> Integer,
    }
}

diesel::table! {
    receipts (pledge_id) {
        pledge_id -> Text,
        association_id -> Text,
        campaign_id -> Text,
        year -> Integer,
        number -> Integer,
        amount -> BigInt,
        currency -> Text,
        issued_at -> Timestamp,
        voided_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    receipt_queue (pledge_id) {
        pledge_id -> Text,
        association_id -> Text,
        campaign_id -> Text,
        year -> Integer,
        amount -> BigInt,
        currency -> Text,
        issued_at -> Timestamp,
    }
}

diesel::table! {
    campaign_donors (campaign_id, donor_key) {
        campaign_id -> Text,
        donor_key -> Text,
        pledges -> Integer,
    }
}

diesel::table! {
    provider_events (id) {
        id -> Text,
        #[sql_name = "type"]
        type_ -> Text,
        payment_id -> Nullable<Text>,
        pledge_id -> Nullable<Text>,
        outcome -> Text,
        payload -> Text,
        received_at -> Timestamp,
    }
}

diesel::table! {
    refunds (id) {
        id -> Text,
        pledge_id -> Text,
        amount -> BigInt,
        reason -> Text,
        status -> Text,
        attempts -> Integer,
        idempotency_key -> Text,
        provider_refund_id -> Nullable<Text>,
        last_error -> Nullable<Text>,
        next_attempt_at -> Timestamp,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    match_decisions (id) {
        id -> Text,
        campaign_id -> Text,
        fund_id -> Text,
        decision -> Text,
        amount -> BigInt,
        inputs -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    journal_entries (id) {
        id -> Text,
        fund_id -> Text,
        campaign_id -> Nullable<Text>,
        kind -> Text,
        memo -> Text,
        reverses -> Nullable<Text>,
        created_at -> Timestamp,
        funder_id -> Text,
    }
}

diesel::table! {
    postings (id) {
        id -> Text,
        entry_id -> Text,
        fund_id -> Text,
        funder_id -> Text,
        account -> Text,
        amount -> BigInt,
        currency -> Text,
    }
}

diesel::table! {
    outbox (id) {
        id -> Text,
        channel -> Text,
        recipient -> Text,
        topic -> Text,
        locale -> Text,
        payload -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        lease_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    job_leases (job) {
        job -> Text,
        holder -> Text,
        lease_until -> Timestamp,
        acquired_at -> Timestamp,
        renewed_at -> Timestamp,
        takeovers -> BigInt,
    }
}

diesel::table! {
    audit_log (id) {
        id -> Text,
        actor_id -> Nullable<Text>,
        actor_role -> Text,
        action -> Text,
        object_type -> Text,
        object_id -> Text,
        detail -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    pending_pledges (pledge_id) {
        pledge_id -> Text,
        created_at -> Timestamp,
        checked_at -> Timestamp,
    }
}

diesel::table! {
    simulated_payments (id) {
        id -> Text,
        idempotency_key -> Text,
        pledge_id -> Text,
        amount -> BigInt,
        currency -> Text,
        status -> Text,
        refunded -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// The console's sessions (the cookie carries the id; this table its SHA-256).
    console_sessions (id_hash) {
        id_hash -> Text,
        user_id -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    grants (id) {
        id -> Text,
        campaign_id -> Text,
        fund_id -> Text,
        association_id -> Text,
        currency -> Text,
        payment_plan -> Text,
        advance_ratio -> Nullable<Text>,
        goal -> BigInt,
        awarded -> BigInt,
        award_limit -> BigInt,
        due -> Nullable<BigInt>,
        accepted_expenses -> BigInt,
        paid -> BigInt,
        released -> BigInt,
        recoverable -> BigInt,
        recovered -> BigInt,
        status -> Text,
        review_from -> Nullable<Text>,
        reviewed_raised -> Nullable<BigInt>,
        award_status -> Text,
        report_due_at -> Timestamp,
        summary -> Nullable<Text>,
        reported_at -> Nullable<Timestamp>,
        approved_at -> Nullable<Timestamp>,
        decision_reason -> Nullable<Text>,
        reminded_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    grant_parts (grant_id, funder_id) {
        grant_id -> Text,
        funder_id -> Text,
        fund_id -> Text,
        awarded -> BigInt,
        advance -> BigInt,
        paid -> BigInt,
        released -> BigInt,
        recoverable -> BigInt,
        recovered -> BigInt,
    }
}

diesel::table! {
    grant_tranches (id) {
        id -> Text,
        grant_id -> Text,
        campaign_id -> Text,
        fund_id -> Text,
        funder_id -> Text,
        kind -> Text,
        amount -> BigInt,
        status -> Text,
        settlement_id -> Nullable<Text>,
        created_at -> Timestamp,
        paid_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    grant_documents (id) {
        id -> Text,
        grant_id -> Text,
        association_id -> Text,
        filename -> Text,
        media_type -> Text,
        size -> BigInt,
        sha256 -> Text,
        content -> Binary,
        uploaded_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    grant_expenses (id) {
        id -> Text,
        grant_id -> Text,
        category -> Text,
        supplier -> Text,
        supplier_tax_code -> Nullable<Text>,
        document_number -> Text,
        document_date -> Date,
        amount -> BigInt,
        paid_at -> Date,
        payment_method -> Text,
        status -> Text,
        reason -> Nullable<Text>,
        checked_by -> Nullable<Text>,
        checked_at -> Nullable<Timestamp>,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    grant_recoveries (id) {
        id -> Text,
        grant_id -> Text,
        amount -> BigInt,
        received_at -> Timestamp,
        bank_reference -> Text,
        recorded_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    grant_expense_documents (expense_id, document_id) {
        expense_id -> Text,
        document_id -> Text,
    }
}

diesel::joinable!(grants -> campaigns (campaign_id));
diesel::joinable!(grant_parts -> grants (grant_id));
diesel::joinable!(grant_parts -> funders (funder_id));
diesel::joinable!(grant_tranches -> grants (grant_id));
diesel::joinable!(grant_documents -> grants (grant_id));
diesel::joinable!(grant_recoveries -> grants (grant_id));
diesel::joinable!(grant_expenses -> grants (grant_id));
diesel::joinable!(grant_expense_documents -> grant_expenses (expense_id));
diesel::joinable!(grant_expense_documents -> grant_documents (document_id));
diesel::joinable!(users -> associations (association_id));
diesel::joinable!(bank_entries -> pledges (pledge_id));
diesel::joinable!(bank_entries -> associations (association_id));
diesel::joinable!(campaigns -> associations (association_id));
diesel::joinable!(campaigns -> funds (fund_id));
diesel::joinable!(campaigns -> areas (area_id));
diesel::joinable!(fund_areas -> funds (fund_id));
diesel::joinable!(fund_areas -> areas (area_id));
diesel::joinable!(pledges -> campaigns (campaign_id));
diesel::joinable!(pledges -> partners (partner_id));
diesel::joinable!(donors -> pledges (pledge_id));
diesel::joinable!(refunds -> pledges (pledge_id));
diesel::joinable!(pending_pledges -> pledges (pledge_id));
diesel::joinable!(postings -> journal_entries (entry_id));
diesel::joinable!(settlement_items -> settlements (settlement_id));
diesel::joinable!(funders -> funds (fund_id));
diesel::joinable!(match_parts -> campaigns (campaign_id));
diesel::joinable!(match_parts -> funders (funder_id));
diesel::joinable!(match_holds -> funders (funder_id));
diesel::joinable!(settlement_lines -> settlement_items (item_id));
diesel::joinable!(settlement_lines -> campaigns (campaign_id));
diesel::joinable!(awards -> campaigns (campaign_id));
diesel::joinable!(awards -> funders (funder_id));
diesel::joinable!(receipts -> pledges (pledge_id));
diesel::joinable!(receipt_queue -> pledges (pledge_id));

diesel::table! {
    payout_accounts (association_id) {
        association_id -> Text,
        provider -> Text,
        account_id -> Text,
        status -> Text,
        status_at -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    crowd_positions (campaign_id) {
        campaign_id -> Text,
        association_id -> Text,
        currency -> Text,
        collected -> BigInt,
        refunded -> BigInt,
        clearing -> BigInt,
        fees -> BigInt,
        payable -> BigInt,
        paid_out -> BigInt,
        reversing -> BigInt,
        owed -> BigInt,
        fee_ratio -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    payouts (id) {
        id -> Text,
        campaign_id -> Text,
        association_id -> Text,
        seq -> Integer,
        amount -> BigInt,
        fee -> BigInt,
        currency -> Text,
        method -> Text,
        status -> Text,
        destination -> Text,
        provider_reference -> Nullable<Text>,
        batch_id -> Nullable<Text>,
        attempts -> Integer,
        reversed -> BigInt,
        failure -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        paid_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    payout_reversals (id) {
        id -> Text,
        campaign_id -> Text,
        payout_id -> Nullable<Text>,
        amount -> BigInt,
        status -> Text,
        provider_reference -> Nullable<Text>,
        failure -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    payout_batches (id) {
        id -> Text,
        status -> Text,
        currency -> Text,
        total -> BigInt,
        item_count -> Integer,
        message_id -> Text,
        bank_reference -> Nullable<Text>,
        paid_at -> Nullable<Timestamp>,
        created_by -> Text,
        confirmed_by -> Nullable<Text>,
        created_at -> Timestamp,
        confirmed_at -> Nullable<Timestamp>,
        cancelled_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    crowd_entries (id) {
        id -> Text,
        campaign_id -> Text,
        movement -> Text,
        debit -> Text,
        credit -> Text,
        amount -> BigInt,
        payout_id -> Nullable<Text>,
        reversal_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::joinable!(payouts -> campaigns (campaign_id));
diesel::joinable!(crowd_positions -> campaigns (campaign_id));

diesel::table! {
    calls (fund_id) {
        fund_id -> Text,
        windows -> Text,
        criteria -> Text,
        pass_mark -> Text,
        evaluators_per_application -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    applications (campaign_id) {
        campaign_id -> Text,
        fund_id -> Text,
        window_number -> Integer,
        submitted_at -> Timestamp,
        frozen -> Bool,
        outcome -> Nullable<Text>,
        published_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    evaluators (campaign_id, user_id) {
        campaign_id -> Text,
        user_id -> Text,
        conflict -> Nullable<Bool>,
        note -> Nullable<Text>,
        declared_at -> Nullable<Timestamp>,
        assigned_at -> Timestamp,
    }
}

diesel::table! {
    scores (campaign_id, user_id, criterion) {
        campaign_id -> Text,
        user_id -> Text,
        criterion -> Text,
        points -> Text,
        comment -> Nullable<Text>,
        scored_at -> Timestamp,
    }
}

diesel::table! {
    rankings (fund_id, window_number, version) {
        fund_id -> Text,
        window_number -> Integer,
        version -> Integer,
        reason -> Text,
        published_at -> Timestamp,
        published_by -> Text,
        entries -> Text,
        evaluators -> Text,
    }
}

diesel::table! {
    appeals (id) {
        id -> Text,
        campaign_id -> Text,
        association_id -> Text,
        fund_id -> Text,
        window_number -> Integer,
        text -> Text,
        status -> Text,
        reason -> Nullable<Text>,
        created_by -> Text,
        created_at -> Timestamp,
        decided_by -> Nullable<Text>,
        decided_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    receipt_links (token_hash) {
        token_hash -> Text,
        email_key -> Text,
        pledge_ids -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    campaign_updates (id) {
        id -> Text,
        campaign_id -> Text,
        title -> Text,
        body -> Text,
        author_id -> Text,
        recipients -> Integer,
        created_at -> Timestamp,
    }
}

diesel::joinable!(campaign_updates -> campaigns (campaign_id));
diesel::joinable!(applications -> campaigns (campaign_id));
diesel::joinable!(evaluators -> users (user_id));
diesel::joinable!(appeals -> campaigns (campaign_id));

diesel::allow_tables_to_appear_in_same_query!(
    receipt_links,
    campaign_updates,
    calls,
    applications,
    evaluators,
    scores,
    rankings,
    appeals,
    associations,
    bank_entries,
    bank_statements,
    users,
    partners,
    areas,
    funds,
    funders,
    match_parts,
    match_holds,
    fund_areas,
    campaigns,
    pledges,
    pending_pledges,
    donors,
    campaign_donors,
    provider_events,
    refunds,
    match_decisions,
    journal_entries,
    postings,
    settlements,
    settlement_items,
    settlement_lines,
    outbox,
    job_leases,
    audit_log,
    simulated_payments,
    awards,
    receipt_counters,
    receipt_queue,
    receipts,
    grants,
    grant_parts,
    grant_tranches,
    grant_documents,
    grant_expenses,
    grant_expense_documents,
    grant_recoveries,
    payout_accounts,
    crowd_positions,
    payouts,
    payout_reversals,
    payout_batches,
    crowd_entries,
);
