//! One schema for both backends, in the SQL types they share: Text, BigInt, Bool, Timestamp.
//! JSON objects are Text. Keep it in step with migrations/sqlite and migrations/postgres.

diesel::table! {
    organizations (id) {
        id -> Text,
        name -> Text,
        slug -> Text,
        domain -> Text,
        support_phone -> Nullable<Text>,
        support_email -> Nullable<Text>,
        logo_url -> Nullable<Text>,
        favicon_url -> Nullable<Text>,
        primary_color -> Nullable<Text>,
        contrast_color -> Nullable<Text>,
        gtm_id -> Nullable<Text>,
        gtm_id_test -> Nullable<Text>,
        region -> Text,
        can_switch_live -> Bool,
        subscription_info -> Nullable<Text>,
        config -> Nullable<Text>,
        reference -> Nullable<Text>,
        reference_origin -> Nullable<Text>,
        metadata -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}
