//! Roles, permissions, memberships, membership profiles and versions: their writes. Reading is
//! shared (`http::routes`). Every write checks the caller's role in the organization, and
//! writes a version of roles, permissions and memberships.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use diesel::prelude::*;

use crate::auth::Caller;
use crate::db::access_rows::{
    self as rows, Audit, Membership, MembershipProfile, MembershipProfiles, Memberships, Permissions, Roles, Versions,
};
use crate::db::schema::{membership_profiles, memberships, permissions, roles};
use crate::db::AnyConnection;
use crate::domain::access::{authorize, Action};
use crate::domain::members::{self, required, Grants};
use crate::domain::{now, Common, Reader};
use crate::error::{ApiError, Invalid, Source};
use crate::http::auth::RequestContext;
use crate::http::{linked_id, load_for, reply, routes, with_includes, Rendered, State};
use crate::jsonapi::document::{Given, Mode, ResourceDocument};
use crate::jsonapi::media::Body;
use crate::jsonapi::query::{Allowed, Query};
use crate::jsonapi::spec::ResourceSpec;
use crate::views::{roles as view, ResourceObject};

pub fn configure(cfg: &mut web::ServiceConfig) {
    routes(cfg, &Roles, "GET, POST", "GET, PATCH", |c, m| {
        (c.route(web::post().to(create_role)), m.route(web::patch().to(update_role)))
    });
    routes(cfg, &Permissions, "GET, POST", "GET, PATCH", |c, m| {
        (c.route(web::post().to(create_permission)), m.route(web::patch().to(update_permission)))
    });
    cfg.service(crate::http::resource("/memberships/{id}/resend", "POST").route(web::post().to(resend)));
    routes(cfg, &Memberships, "GET, POST", "GET, PATCH, DELETE", |c, m| {
        (
            c.route(web::post().to(create_membership)),
            m.route(web::patch().to(update_membership)).route(web::delete().to(delete_membership)),
        )
    });
    routes(cfg, &MembershipProfiles, "GET, POST", "GET, PATCH, DELETE", |c, m| {
        (
            c.route(web::post().to(create_profile)),
            m.route(web::patch().to(update_profile)).route(web::delete().to(delete_profile)),
        )
    });
    routes(cfg, &Versions, "GET", "GET", |c, m| (c, m));
}

pub fn audit(caller: &Caller, context: &RequestContext) -> Audit {
    Audit {
        user_id: caller.user_id.clone(),
        email: caller.email.clone(),
        ip_address: context.ip_address.clone(),
        user_agent: context.user_agent.clone(),
        request_id: context.request_id.clone(),
    }
}

/// A decoded request: query, document, caller, audit.
struct Write {
    query: Query,
    document: ResourceDocument,
    caller: Caller,
    audit: Audit,
}

fn decode(
    spec: &'static ResourceSpec,
    request: &HttpRequest,
    body: &Body,
    mode: Mode,
    caller: Caller,
    context: &RequestContext,
) -> Result<Write, ApiError> {
    let query = Query::parse(spec, request.query_string(), Allowed::Single)?;
    let document = ResourceDocument::decode(&body.0, spec, mode)?;
    let audit = audit(&caller, context);
    Ok(Write { query, document, caller, audit })
}

/// The organization a create names: 404 unless the caller belongs to it (JSON:API 1.1 §9.1:
/// a related resource that does not exist), 403 unless their role may create `subject` there.
fn organization_for_create(conn: &mut AnyConnection, write: &Write, subject: &str) -> Result<String, ApiError> {
    let id =
        linked_id(&write.document, "organization").flatten().expect("required relationships are checked when decoded");
    let missing = || ApiError::not_found("organizations", &id);
    authorize(conn, &write.caller, &id, subject, Action::Create, missing)?;
    Ok(id)
}

/// A related record that must belong to `organization_id`, or 422 pointing at the relationship.
fn same_organization(
    found: Option<String>,
    organization_id: &str,
    relationship: &str,
    target: &str,
) -> Result<(), ApiError> {
    match found {
        Some(org) if org == organization_id => Ok(()),
        _ => Err(ApiError::invalid(Invalid::relationship(
            relationship,
            format!("{relationship} must be one of this organization's {target}."),
        ))),
    }
}

fn finish(conn: &mut AnyConnection, write: Write, object: ResourceObject) -> Result<Rendered, ApiError> {
    with_includes(conn, &write.caller, object, write.query)
}

fn reload<T>(loaded: QueryResult<Option<T>>, render: fn(T) -> ResourceObject) -> Result<ResourceObject, ApiError> {
    loaded?.map(render).ok_or_else(|| ApiError::internal("a record written in this transaction vanished"))
}

// Roles

async fn create_role(
    state: State,
    request: HttpRequest,
    body: Body,
    caller: Caller,
    context: RequestContext,
) -> Result<HttpResponse, ApiError> {
    let write = decode(&view::ROLES, &request, &body, Mode::Create, caller, &context)?;
    let mut reader = Reader::new(&write.document);
    let name = required(&mut reader, "name", members::parse_role_name);
    let common = Common::read(&mut reader);
    reader.finish()?;
    state
        .db
        .transaction(move |conn| {
            let organization_id = organization_for_create(conn, &write, "roles")?;
            let mut role = rows::new_role(&organization_id, &name.unwrap_or_default(), "custom");
            role.reference = common.reference.value();
            role.reference_origin = common.reference_origin.value();
            role.metadata = common.metadata.unwrap_or_else(|| "{}".into());
            rows::insert_role(conn, &role)?;
            let object = view::render_role(role);
            rows::record(conn, &write.audit, "create", None, Some(&object))?;
            finish(conn, write, object)
        })
        .await
        .map(|rendered| reply(&state, StatusCode::CREATED, rendered))
}

async fn update_role(
    state: State,
    request: HttpRequest,
    id: web::Path<String>,
    body: Body,
    caller: Caller,
    context: RequestContext,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let write = decode(&view::ROLES, &request, &body, Mode::Update { id: &id }, caller, &context)?;
    let mut reader = Reader::new(&write.document);
    let name = reader.string("name", members::parse_role_name);
    let name = reader.not_null("name", name);
    let add_missing = write.document.trigger("_add_missing_base_permissions", &mut reader.errors);
    let common = Common::read(&mut reader);
    reader.finish()?;
    state
        .db
        .transaction(move |conn| {
            let before = load_for(conn, &write.caller, &Roles, &id, Action::Update)?;
            let role = rows::find_role(conn, &id)?.ok_or_else(|| ApiError::not_found("roles", &id))?;
            if name.as_ref().is_some_and(|n| *n != role.name) && role.kind != "custom" {
                return Err(ApiError::invalid(Invalid::attribute(
                    "name",
                    "The built-in roles admin and read_only keep their names.",
                )));
            }
            diesel::update(roles::table.find(&id))
                .set((name.map(|n| roles::name.eq(n)), crate::common_changes!(roles, common, now())))
                .execute(conn)?;
            if add_missing {
                for permission in rows::add_missing_base_permissions(conn, &role)? {
                    rows::record(conn, &write.audit, "create", None, Some(&view::render_permission(permission)))?;
                }
            }
            let after = reload(rows::find_role(conn, &id), view::render_role)?;
            if !rows::changes(Some(&before), Some(&after)).is_empty() {
                rows::record(conn, &write.audit, "update", Some(&before), Some(&after))?;
            }
            finish(conn, write, after)
        })
        .await
        .map(|rendered| reply(&state, StatusCode::OK, rendered))
}

// Permissions

fn builtin_role_refusal() -> ApiError {
    ApiError::invalid(Invalid::relationship(
        "role",
        "The permissions of the built-in roles (admin, read_only) are fixed; give custom roles their own.",
    ))
}

async fn create_permission(
    state: State,
    request: HttpRequest,
    body: Body,
    caller: Caller,
    context: RequestContext,
) -> Result<HttpResponse, ApiError> {
    let write = decode(&view::PERMISSIONS, &request, &body, Mode::Create, caller, &context)?;
    let mut reader = Reader::new(&write.document);
    let grants = Grants::read(&mut reader);
    let subject = required(&mut reader, "subject", members::parse_subject);
    let common = Common::read(&mut reader);
    reader.finish()?;
    state
        .db
        .transaction(move |conn| {
            let role_id =
                linked_id(&write.document, "role").flatten().expect("required relationships are checked when decoded");
            let missing = || ApiError::not_found("roles", &role_id);
            let role = rows::find_role(conn, &role_id)?.ok_or_else(missing)?;
            authorize(conn, &write.caller, &role.organization_id, "permissions", Action::Create, missing)?;
            if let Some(organization) = linked_id(&write.document, "organization") {
                same_organization(organization, &role.organization_id, "organization", "organizations (the role's)")?;
            }
            if role.kind != "custom" {
                return Err(builtin_role_refusal());
            }
            let subject = subject.unwrap_or_default();
            let taken: i64 = permissions::table
                .filter(permissions::role_id.eq(&role.id))
                .filter(permissions::subject.eq(&subject))
                .count()
                .get_result(conn)?;
            if taken > 0 {
                return Err(ApiError::invalid(Invalid::attribute(
                    "subject",
                    "This role already has a permission for this subject; update it instead.",
                )));
            }
            let flag = |g: &Given<bool>| matches!(g, Given::Value(true));
            let mut permission = rows::new_permission(
                &role,
                &subject,
                (flag(&grants.can_create), flag(&grants.can_read), flag(&grants.can_update), flag(&grants.can_destroy)),
            );
            permission.reference = common.reference.value();
            permission.reference_origin = common.reference_origin.value();
            permission.metadata = common.metadata.unwrap_or_else(|| "{}".into());
            rows::insert_permission(conn, &permission)?;
            let object = view::render_permission(permission);
            rows::record(conn, &write.audit, "create", None, Some(&object))?;
            finish(conn, write, object)
        })
        .await
        .map(|rendered| reply(&state, StatusCode::CREATED, rendered))
}

async fn update_permission(
    state: State,
    request: HttpRequest,
    id: web::Path<String>,
    body: Body,
    caller: Caller,
    context: RequestContext,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let write = decode(&view::PERMISSIONS, &request, &body, Mode::Update { id: &id }, caller, &context)?;
    let mut reader = Reader::new(&write.document);
    let grants = Grants::read(&mut reader);
    let common = Common::read(&mut reader);
    reader.finish()?;
    state
        .db
        .transaction(move |conn| {
            let before = load_for(conn, &write.caller, &Permissions, &id, Action::Update)?;
            let permission =
                rows::find_permission(conn, &id)?.ok_or_else(|| ApiError::not_found("permissions", &id))?;
            let role = rows::find_role(conn, &permission.role_id)?
                .ok_or_else(|| ApiError::internal("permission without role"))?;
            if role.kind != "custom" {
                return Err(builtin_role_refusal());
            }
            diesel::update(permissions::table.find(&id))
                .set((
                    grants.can_create.value().map(|v| permissions::can_create.eq(v)),
                    grants.can_read.value().map(|v| permissions::can_read.eq(v)),
                    grants.can_update.value().map(|v| permissions::can_update.eq(v)),
                    grants.can_destroy.value().map(|v| permissions::can_destroy.eq(v)),
                    crate::common_changes!(permissions, common, now()),
                ))
                .execute(conn)?;
            let after = reload(rows::find_permission(conn, &id), view::render_permission)?;
            if !rows::changes(Some(&before), Some(&after)).is_empty() {
                rows::record(conn, &write.audit, "update", Some(&before), Some(&after))?;
            }
            finish(conn, write, after)
        })
        .await
        .map(|rendered| reply(&state, StatusCode::OK, rendered))
}

// Memberships

/// A role named by the document must be one of the organization's.
fn role_in(conn: &mut AnyConnection, role_id: &str, organization_id: &str) -> Result<(), ApiError> {
    let found = rows::find_role(conn, role_id)?.map(|r| r.organization_id);
    same_organization(found, organization_id, "role", "roles")
}

fn profile_in(
    conn: &mut AnyConnection,
    profile_id: &str,
    organization_id: &str,
) -> Result<MembershipProfile, ApiError> {
    let found = rows::find_profile(conn, profile_id)?;
    same_organization(
        found.as_ref().map(|p| p.organization_id.clone()),
        organization_id,
        "membership_profile",
        "membership profiles",
    )?;
    Ok(found.expect("checked above"))
}

async fn create_membership(
    state: State,
    request: HttpRequest,
    body: Body,
    caller: Caller,
    context: RequestContext,
) -> Result<HttpResponse, ApiError> {
    let write = decode(&view::MEMBERSHIPS, &request, &body, Mode::Create, caller, &context)?;
    let mut reader = Reader::new(&write.document);
    let email = required(&mut reader, "user_email", members::parse_member_email);
    let access_scope = reader.string("access_scope", members::parse_access_scope);
    let access_scope = reader.not_null("access_scope", access_scope);
    let common = Common::read(&mut reader);
    reader.finish()?;
    state
        .db
        .transaction(move |conn| {
            let organization_id = organization_for_create(conn, &write, "memberships")?;
            let role_id = linked_id(&write.document, "role").flatten().unwrap_or_default();
            role_in(conn, &role_id, &organization_id)?;
            let profile = match linked_id(&write.document, "membership_profile").flatten() {
                Some(profile_id) => Some(profile_in(conn, &profile_id, &organization_id)?),
                None => None,
            };
            let email = email.unwrap_or_default();
            if rows::membership_by_email(conn, &organization_id, &email)?.is_some() {
                return Err(ApiError::invalid(Invalid::attribute(
                    "user_email",
                    "This email already has a membership in this organization.",
                )));
            }
            let user = crate::db::users::find_by_email(conn, &email)?;
            let access_scope = access_scope
                .or_else(|| profile.as_ref().map(|p| p.access_scope.clone()))
                .unwrap_or_else(|| "live_access".into());
            let now = now();
            let membership = Membership {
                id: crate::domain::new_id(),
                organization_id,
                role_id,
                membership_profile_id: profile.map(|p| p.id),
                user_id: user.as_ref().map(|u| u.id.clone()),
                user_email: email,
                user_first_name: user.as_ref().map(|u| u.first_name.clone()),
                user_last_name: user.as_ref().map(|u| u.last_name.clone()),
                status: if user.is_some() { "active" } else { "pending" }.into(),
                owner: false,
                test_enabled: members::test_enabled(&access_scope),
                access_scope,
                invited_at: Some(now),
                reference: common.reference.value(),
                reference_origin: common.reference_origin.value(),
                metadata: common.metadata.unwrap_or_else(|| "{}".into()),
                created_at: now,
                updated_at: now,
            };
            rows::insert_membership(conn, &membership)?;
            let object = view::render_membership(membership);
            rows::record(conn, &write.audit, "create", None, Some(&object))?;
            finish(conn, write, object)
        })
        .await
        .map(|rendered| reply(&state, StatusCode::CREATED, rendered))
}

async fn update_membership(
    state: State,
    request: HttpRequest,
    id: web::Path<String>,
    body: Body,
    caller: Caller,
    context: RequestContext,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let write = decode(&view::MEMBERSHIPS, &request, &body, Mode::Update { id: &id }, caller, &context)?;
    let mut reader = Reader::new(&write.document);
    let access_scope = reader.string("access_scope", members::parse_access_scope);
    let access_scope = reader.not_null("access_scope", access_scope);
    let common = Common::read(&mut reader);
    reader.finish()?;
    state
        .db
        .transaction(move |conn| {
            let before = load_for(conn, &write.caller, &Memberships, &id, Action::Update)?;
            let membership =
                rows::find_membership(conn, &id)?.ok_or_else(|| ApiError::not_found("memberships", &id))?;
            let role_id = match linked_id(&write.document, "role") {
                Some(Some(role_id)) => {
                    role_in(conn, &role_id, &membership.organization_id)?;
                    let admin = rows::builtin_role(conn, &membership.organization_id, "admin")?.map(|r| r.id);
                    if membership.owner && Some(&role_id) != admin.as_ref() {
                        return Err(ApiError::invalid(Invalid::relationship(
                            "role",
                            "The owner keeps the admin role; transfer ownership first.",
                        )));
                    }
                    Some(role_id)
                }
                Some(None) => return Err(ApiError::invalid(Invalid::relationship("role", "role cannot be null."))),
                None => None,
            };
            let profile_id = match linked_id(&write.document, "membership_profile") {
                Some(Some(profile_id)) => Some(Some(profile_in(conn, &profile_id, &membership.organization_id)?.id)),
                Some(None) => Some(None),
                None => None,
            };
            diesel::update(memberships::table.find(&id))
                .set((
                    role_id.map(|v| memberships::role_id.eq(v)),
                    profile_id.map(|v| memberships::membership_profile_id.eq(v)),
                    access_scope.as_ref().map(|v| memberships::access_scope.eq(v.clone())),
                    access_scope.as_ref().map(|v| memberships::test_enabled.eq(members::test_enabled(v))),
                    crate::common_changes!(memberships, common, now()),
                ))
                .execute(conn)?;
            let after = reload(rows::find_membership(conn, &id), view::render_membership)?;
            if !rows::changes(Some(&before), Some(&after)).is_empty() {
                rows::record(conn, &write.audit, "update", Some(&before), Some(&after))?;
            }
            finish(conn, write, after)
        })
        .await
        .map(|rendered| reply(&state, StatusCode::OK, rendered))
}

async fn delete_membership(
    state: State,
    id: web::Path<String>,
    caller: Caller,
    context: RequestContext,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let audit = audit(&caller, &context);
    state
        .db
        .transaction(move |conn| {
            let before = load_for(conn, &caller, &Memberships, &id, Action::Destroy)?;
            if before.attributes.get("owner") == Some(&serde_json::Value::Bool(true)) {
                return Err(ApiError::Forbidden {
                    detail: "The owner's membership cannot be deleted; transfer the ownership first.".into(),
                    location: Source::None,
                });
            }
            diesel::delete(memberships::table.find(&id)).execute(conn)?;
            rows::record(conn, &audit, "destroy", Some(&before), None)?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /memberships/:id/resend`: the invitation of a pending membership goes out again.
/// There is no mail transport yet: the invitation time is recorded and logged for delivery.
async fn resend(state: State, id: web::Path<String>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    state
        .db
        .transaction(move |conn| {
            load_for(conn, &caller, &Memberships, &id, Action::Update)?;
            let membership = rows::find_membership(conn, &id)?.ok_or_else(|| ApiError::not_found("memberships", &id))?;
            if membership.status != "pending" {
                return Err(ApiError::invalid(Invalid {
                    location: Source::None,
                    detail: "Only a pending membership has an invitation to resend.".into(),
                }));
            }
            diesel::update(memberships::table.find(&id)).set(memberships::invited_at.eq(now())).execute(conn)?;
            tracing::info!(membership = %id, organization = %membership.organization_id, "membership invitation to resend");
            Ok(())
        })
        .await?;
    Ok(HttpResponse::Accepted().finish())
}

// Membership profiles

async fn create_profile(
    state: State,
    request: HttpRequest,
    body: Body,
    caller: Caller,
    context: RequestContext,
) -> Result<HttpResponse, ApiError> {
    let write = decode(&view::MEMBERSHIP_PROFILES, &request, &body, Mode::Create, caller, &context)?;
    let mut reader = Reader::new(&write.document);
    let name = required(&mut reader, "name", |v| crate::domain::parse_text(v, 100));
    let access_scope = required(&mut reader, "access_scope", members::parse_access_scope);
    let common = Common::read(&mut reader);
    reader.finish()?;
    state
        .db
        .transaction(move |conn| {
            let organization_id = organization_for_create(conn, &write, "membership_profiles")?;
            let access_scope = access_scope.unwrap_or_default();
            let now = now();
            let profile = MembershipProfile {
                id: crate::domain::new_id(),
                organization_id,
                name: name.unwrap_or_default(),
                test_enabled: members::test_enabled(&access_scope),
                access_scope,
                reference: common.reference.value(),
                reference_origin: common.reference_origin.value(),
                metadata: common.metadata.unwrap_or_else(|| "{}".into()),
                created_at: now,
                updated_at: now,
            };
            rows::insert_profile(conn, &profile)?;
            finish(conn, write, view::render_membership_profile(profile))
        })
        .await
        .map(|rendered| reply(&state, StatusCode::CREATED, rendered))
}

async fn update_profile(
    state: State,
    request: HttpRequest,
    id: web::Path<String>,
    body: Body,
    caller: Caller,
    context: RequestContext,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let write = decode(&view::MEMBERSHIP_PROFILES, &request, &body, Mode::Update { id: &id }, caller, &context)?;
    let mut reader = Reader::new(&write.document);
    let name = reader.string("name", |v| crate::domain::parse_text(v, 100));
    let name = reader.not_null("name", name);
    let access_scope = reader.string("access_scope", members::parse_access_scope);
    let access_scope = reader.not_null("access_scope", access_scope);
    let common = Common::read(&mut reader);
    reader.finish()?;
    state
        .db
        .transaction(move |conn| {
            load_for(conn, &write.caller, &MembershipProfiles, &id, Action::Update)?;
            diesel::update(membership_profiles::table.find(&id))
                .set((
                    name.map(|v| membership_profiles::name.eq(v)),
                    access_scope.as_ref().map(|v| membership_profiles::access_scope.eq(v.clone())),
                    access_scope.as_ref().map(|v| membership_profiles::test_enabled.eq(members::test_enabled(v))),
                    crate::common_changes!(membership_profiles, common, now()),
                ))
                .execute(conn)?;
            let after = reload(rows::find_profile(conn, &id), view::render_membership_profile)?;
            finish(conn, write, after)
        })
        .await
        .map(|rendered| reply(&state, StatusCode::OK, rendered))
}

async fn delete_profile(state: State, id: web::Path<String>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    state
        .db
        .transaction(move |conn| {
            load_for(conn, &caller, &MembershipProfiles, &id, Action::Destroy)?;
            // Memberships keep going without a profile.
            diesel::update(memberships::table.filter(memberships::membership_profile_id.eq(&id)))
                .set(memberships::membership_profile_id.eq(None::<String>))
                .execute(conn)?;
            diesel::delete(membership_profiles::table.find(&id)).execute(conn)?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
