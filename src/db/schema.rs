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

diesel::table! {
    users (id) {
        id -> Text,
        email -> Text,
        first_name -> Text,
        last_name -> Text,
        time_zone -> Nullable<Text>,
        otp_required_for_login -> Bool,
        client_id -> Text,
        client_secret_hash -> Text,
        reference -> Nullable<Text>,
        reference_origin -> Nullable<Text>,
        metadata -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        grants_version -> BigInt,
        unconfirmed_email -> Nullable<Text>,
        email_code_hash -> Nullable<Text>,
        email_code_expires_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        algorithm -> Text,
        private_key_pem -> Text,
        public_n -> Text,
        public_e -> Text,
        created_at -> Timestamp,
        private_key_sealed -> Nullable<Text>,
        verify_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    revoked_tokens (jti) {
        jti -> Text,
        expires_at -> Timestamp,
        revoked_at -> Timestamp,
    }
}

diesel::table! {
    roles (id) {
        id -> Text,
        organization_id -> Text,
        name -> Text,
        kind -> Text,
        reference -> Nullable<Text>,
        reference_origin -> Nullable<Text>,
        metadata -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    permissions (id) {
        id -> Text,
        organization_id -> Text,
        role_id -> Text,
        subject -> Text,
        can_create -> Bool,
        can_read -> Bool,
        can_update -> Bool,
        can_destroy -> Bool,
        restrictions -> Text,
        reference -> Nullable<Text>,
        reference_origin -> Nullable<Text>,
        metadata -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    membership_profiles (id) {
        id -> Text,
        organization_id -> Text,
        name -> Text,
        access_scope -> Text,
        test_enabled -> Bool,
        reference -> Nullable<Text>,
        reference_origin -> Nullable<Text>,
        metadata -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    memberships (id) {
        id -> Text,
        organization_id -> Text,
        role_id -> Text,
        membership_profile_id -> Nullable<Text>,
        user_id -> Nullable<Text>,
        user_email -> Text,
        user_first_name -> Nullable<Text>,
        user_last_name -> Nullable<Text>,
        status -> Text,
        owner -> Bool,
        access_scope -> Text,
        test_enabled -> Bool,
        invited_at -> Nullable<Timestamp>,
        reference -> Nullable<Text>,
        reference_origin -> Nullable<Text>,
        metadata -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    versions (id) {
        id -> Text,
        organization_id -> Text,
        resource_type -> Text,
        resource_id -> Text,
        event -> Text,
        changes -> Text,
        who -> Text,
        ip_address -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        uuid -> Nullable<Text>,
        reference -> Nullable<Text>,
        reference_origin -> Nullable<Text>,
        metadata -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    identity_providers (id) {
        id -> Text,
        organization -> Text,
        user_id -> Nullable<Text>,
        name -> Text,
        client_id -> Text,
        client_secret_sealed -> Text,
        issuer -> Text,
        domains -> Text,
        authorize_url -> Text,
        token_url -> Text,
        jwks_url -> Text,
        status -> Text,
        txt_record -> Text,
        disabled_at -> Nullable<Timestamp>,
        reference -> Nullable<Text>,
        reference_origin -> Nullable<Text>,
        metadata -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        verification_error -> Nullable<Text>,
    }
}

diesel::joinable!(roles -> organizations (organization_id));
diesel::joinable!(permissions -> roles (role_id));
diesel::joinable!(memberships -> roles (role_id));
diesel::joinable!(memberships -> users (user_id));
diesel::joinable!(api_credential_scopes -> api_scopes (api_scope_id));
diesel::joinable!(api_scopes -> api_resources (api_resource_id));

diesel::allow_tables_to_appear_in_same_query!(
    revoked_tokens,
    api_credential_scopes,
    api_resources,
    api_scopes,
    api_credentials,
    application_memberships,
    organizations,
    users,
    roles,
    permissions,
    membership_profiles,
    memberships,
    versions,
);

diesel::table! {
    api_credentials (id) {
        id -> Text,
        organization_id -> Text,
        role_id -> Nullable<Text>,
        name -> Text,
        kind -> Text,
        redirect_uri -> Nullable<Text>,
        expires_in -> BigInt,
        mode -> Text,
        custom -> Bool,
        auth_method -> Text,
        public_key -> Nullable<Text>,
        confidential -> Bool,
        scopes -> Text,
        client_id -> Text,
        client_secret_hash -> Nullable<Text>,
        secret_version -> BigInt,
        client_secret_expires_at -> Nullable<Timestamp>,
        previous_secret_hash -> Nullable<Text>,
        client_secret_previous_expires_at -> Nullable<Timestamp>,
        reference -> Nullable<Text>,
        reference_origin -> Nullable<Text>,
        metadata -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    application_memberships (id) {
        id -> Text,
        organization_id -> Text,
        api_credential_id -> Text,
        role_id -> Text,
        membership_id -> Nullable<Text>,
        membership_profile_id -> Nullable<Text>,
        filters -> Text,
        reference -> Nullable<Text>,
        reference_origin -> Nullable<Text>,
        metadata -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    used_assertions (jti) {
        jti -> Text,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    api_resources (id) {
        id -> Text,
        organization_id -> Text,
        application_id -> Nullable<Text>,
        name -> Text,
        identifier -> Text,
        description -> Nullable<Text>,
        access_token_ttl -> BigInt,
        prefix -> Bool,
        is_default -> Bool,
        reference -> Nullable<Text>,
        reference_origin -> Nullable<Text>,
        metadata -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        credential_provider_id -> Nullable<Text>,
    }
}

diesel::table! {
    api_scopes (id) {
        id -> Text,
        organization_id -> Text,
        api_resource_id -> Text,
        name -> Text,
        description -> Nullable<Text>,
        reference -> Nullable<Text>,
        reference_origin -> Nullable<Text>,
        metadata -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    api_credential_scopes (api_credential_id, api_scope_id) {
        api_credential_id -> Text,
        api_scope_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    credential_providers (id) {
        id -> Text,
        organization_id -> Text,
        identifier -> Text,
        name -> Text,
        description -> Nullable<Text>,
        client_id -> Text,
        client_secret_sealed -> Nullable<Text>,
        issuer -> Nullable<Text>,
        authorization_endpoint -> Nullable<Text>,
        token_endpoint -> Text,
        jwks_uri -> Nullable<Text>,
        scopes_supported -> Text,
        scope_separator -> Text,
        token_response_access_token_pointer -> Text,
        token_exchange -> Bool,
        reference -> Nullable<Text>,
        reference_origin -> Nullable<Text>,
        metadata -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    upstream_credentials (id) {
        id -> Text,
        credential_provider_id -> Text,
        access_token_sealed -> Text,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    sso_logins (id) {
        id -> Text,
        identity_provider_id -> Text,
        api_credential_id -> Text,
        redirect_uri -> Text,
        client_state -> Nullable<Text>,
        code_challenge -> Text,
        nonce -> Text,
        upstream_verifier_sealed -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        returned_at -> Nullable<Timestamp>,
        user_id -> Nullable<Text>,
        code_hash -> Nullable<Text>,
        code_expires_at -> Nullable<Timestamp>,
        code_used_at -> Nullable<Timestamp>,
    }
}
