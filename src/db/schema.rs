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
    }
}

diesel::table! {
    areas (id) {
        id -> Text,
        code -> Text,
        name -> Text,
        geometry -> Text,
        created_at -> Timestamp,
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

diesel::joinable!(users -> associations (association_id));
diesel::joinable!(campaigns -> associations (association_id));
diesel::joinable!(campaigns -> funds (fund_id));
diesel::joinable!(campaigns -> areas (area_id));
diesel::joinable!(fund_areas -> funds (fund_id));
diesel::joinable!(fund_areas -> areas (area_id));

diesel::allow_tables_to_appear_in_same_query!(
    associations,
    users,
    partners,
    areas,
    funds,
    fund_areas,
    campaigns,
    audit_log,
);
