//! Writing through the policy, with a version for every write. A type supplies its decoding
//! and its statements (`Create`, `Update`, `Delete`); `Tx` owns what every write shares:
//! authorization, related records of the same organization, and the audit trail.

use crate::db::sql::{Count, Sql};
use crate::db::AnyConnection;
use crate::domain::audit::{self, Audit, Event};
use crate::domain::letters::Letter;
use crate::domain::policy::{Action, Authorized, Caller, CreateIn, Owner};
use crate::domain::sealed::MasterKeys;
use crate::error::{ApiError, Invalid, Source};
use crate::jsonapi::document::ResourceDocument;
use crate::resources::model::{owner, Resource};
use crate::resources::read;
use crate::resources::Registry;
use crate::spec::Catalog;

/// One write transaction: the connection, who writes, and what versions record.
pub struct Tx<'a> {
    pub conn: &'a mut AnyConnection,
    pub caller: &'a mut Caller,
    pub audit: &'a Audit,
    pub registry: &'a Registry,
    /// Organizations' domains are `<slug>.<domain_suffix>`.
    pub domain_suffix: &'a str,
    /// What seals the secrets a type must read back (`domain::sealed`).
    pub master: &'a MasterKeys,
    /// Mails to send once the transaction has committed.
    pub letters: Vec<Letter>,
}

impl Tx<'_> {
    /// Sends `letter` once this transaction commits (never if it rolls back).
    pub fn mail(&mut self, letter: Letter) {
        self.letters.push(letter);
    }

    /// A record the caller may `action`, through the policy.
    pub fn find<T: Resource>(&mut self, id: &str, action: Action) -> Result<Authorized<T::Row>, ApiError> {
        read::find::<T>(self.conn, self.caller, id, action)
    }

    /// A record a relationship of the document names, which must belong to `organization_id`:
    /// 404 when it does not exist for the caller (JSON:API 1.1 §9.1.?), 422 at the relationship
    /// when it belongs to another of the caller's organizations.
    pub fn related<T: Resource>(
        &mut self,
        relationship: &str,
        id: &str,
        organization_id: &str,
    ) -> Result<T::Row, ApiError> {
        let missing = || ApiError::not_found(T::SPEC.type_name, id);
        let row = T::find(self.conn, id)?.ok_or_else(missing)?;
        match owner::<T>(&row) {
            Owner::Organization(o) if o == organization_id => Ok(row),
            Owner::Organization(o) if self.caller.is_member(o) => Err(ApiError::invalid(Invalid::relationship(
                relationship,
                format!("{relationship} must be one of this organization's {}.", T::SPEC.type_name),
            ))),
            _ => Err(missing()),
        }
    }

    /// The organization of a record of another type (a new record's parent): 404 when there
    /// is none.
    pub fn organization_of(&mut self, type_name: &'static str, id: &str) -> Result<String, ApiError> {
        #[derive(diesel::QueryableByName)]
        struct Owner {
            #[diesel(sql_type = diesel::sql_types::Text)]
            organization_id: String,
        }
        let mut sql = Sql::new(&format!("SELECT organization_id FROM \"{type_name}\" WHERE id = "));
        sql.text(id);
        let owner: Option<Owner> = sql.load(self.conn)?.into_iter().next();
        owner.map(|o| o.organization_id).ok_or_else(|| ApiError::not_found(type_name, id))
    }

    /// Whether another record of `table` than `except` has these values (a uniqueness a type
    /// checks before the database's index would, to answer 422 at the attribute).
    pub fn taken(
        &mut self,
        table: &'static str,
        values: &[(&'static str, &str)],
        except: &str,
    ) -> Result<bool, ApiError> {
        let mut sql = Sql::new(&format!("SELECT COUNT(*) AS count FROM \"{table}\" WHERE id <> "));
        sql.text(except);
        for (column, value) in values {
            sql.push(&format!(" AND \"{column}\" = ")).text(*value);
        }
        Ok(sql.load::<Count>(self.conn)?.first().is_some_and(|c| c.count > 0))
    }

    /// Inserts a row and records its creation.
    pub fn insert<T: Resource>(&mut self, row: T::Row) -> Result<T::Row, ApiError> {
        T::insert(self.conn, &row)?;
        self.record::<T>("create", None, Some(&row))?;
        Ok(row)
    }

    /// The row as it is now, after `event` changed it; a version when anything changed (or
    /// always, for a custom action).
    pub fn updated<T: Resource>(&mut self, before: &T::Row, event: &str) -> Result<T::Row, ApiError> {
        let id = T::id(before);
        let after = T::find(self.conn, id)?
            .ok_or_else(|| ApiError::internal("a record written in this transaction vanished"))?;
        self.record::<T>(event, Some(before), Some(&after))?;
        Ok(after)
    }

    pub fn delete<T: Resource>(&mut self, record: Authorized<T::Row>) -> Result<(), ApiError> {
        let row = record.into_inner();
        T::delete(self.conn, T::id(&row))?;
        self.record::<T>("destroy", Some(&row), None)
    }

    /// Writes a version of a row of `T`: its changes between `before` and `after`. An update
    /// that changed nothing records nothing; records without an organization (users) have no
    /// audit trail.
    pub fn record<T: Resource>(
        &mut self,
        event: &str,
        before: Option<&T::Row>,
        after: Option<&T::Row>,
    ) -> Result<(), ApiError> {
        let Some(subject) = after.or(before) else { return Ok(()) };
        let Owner::Organization(organization_id) = owner::<T>(subject) else { return Ok(()) };
        let changes = audit::changes(before, after)?;
        if event == "update" && changes.is_empty() {
            return Ok(());
        }
        T::grants_changed(self.conn, before, after)?;
        let event = Event {
            resource_type: T::SPEC.type_name,
            resource_id: T::id(subject),
            organization_id,
            name: event,
            changes,
        };
        audit::record(self.conn, self.audit, event)
    }
}

/// A type that can be created with `POST /<type>`.
pub trait Create: Resource {
    /// The document's values, checked by the type's rules (422s) before any database work.
    type New: Send + 'static;

    fn decode(document: &ResourceDocument, catalog: &dyn Catalog) -> Result<Self::New, ApiError>;

    /// Whether `prepare` hashes a secret for these values (then it runs on the argon2 pool).
    fn hashes(_new: &Self::New) -> bool {
        false
    }

    /// Slow work on the values before the transaction (hashing a new secret), off the async
    /// workers.
    fn prepare(new: Self::New) -> Self::New {
        new
    }

    /// An attribute the create response shows once (a new secret).
    fn revealed(_new: &Self::New) -> Option<(&'static str, String)> {
        None
    }

    /// The organization the document puts the record in (404 when it does not exist): by
    /// default its `organization` relationship, `linked`; `None` for an organization itself,
    /// which any user may found.
    fn organization(_tx: &mut Tx, _new: &Self::New, linked: Option<String>) -> Result<Option<String>, ApiError> {
        Ok(linked)
    }

    /// Builds and inserts the row (through `tx.insert`), with whatever goes with it.
    fn create(tx: &mut Tx, place: Authorized<CreateIn>, new: Self::New) -> Result<Self::Row, ApiError>;
}

/// A question about the world outside the database that a write needs answered before its
/// transaction begins (a transaction never waits on the network). The HTTP layer, which owns
/// the resolver, answers it.
#[derive(Debug, Clone)]
pub enum Inquiry {
    /// Whether every one of `domains` publishes a TXT record `expected`.
    TxtRecords { domains: Vec<String>, expected: String },
}

/// What an inquiry found: yes, or why not, as people read it.
pub type Answer = Result<(), String>;

/// A type that can be updated with `PATCH /<type>/:id`.
pub trait Update: Resource {
    type Changes: Send + 'static;

    fn decode(document: &ResourceDocument, catalog: &dyn Catalog) -> Result<Self::Changes, ApiError>;

    /// Whether `prepare` hashes a secret for these changes (then it runs on the argon2 pool).
    fn hashes(_changes: &Self::Changes) -> bool {
        false
    }

    fn prepare(changes: Self::Changes) -> Self::Changes {
        changes
    }

    fn revealed(_changes: &Self::Changes) -> Option<(&'static str, String)> {
        None
    }

    /// Whether these changes may ask an `inquiry` (then the record is read before the
    /// transaction, as the caller may update it).
    fn inquires(_changes: &Self::Changes) -> bool {
        false
    }

    /// What to find out first, given the record as it stands.
    fn inquiry(_changes: &Self::Changes, _record: &Self::Row) -> Option<Inquiry> {
        None
    }

    /// Keeps what an inquiry found, for `update`.
    fn answered(_changes: &mut Self::Changes, _inquiry: Inquiry, _answer: Answer) {}

    /// Applies the changes; returns the version's event (`update`, or a custom action's name).
    fn update(tx: &mut Tx, record: &Authorized<Self::Row>, changes: Self::Changes) -> Result<&'static str, ApiError>;
}

/// A type that can be deleted with `DELETE /<type>/:id`.
pub trait Delete: Resource {
    /// What must hold before the record goes, and what goes with it.
    fn check(_tx: &mut Tx, _record: &Authorized<Self::Row>) -> Result<(), ApiError> {
        Ok(())
    }
}

pub fn create<T: Create>(tx: &mut Tx, new: T::New, linked_organization: Option<String>) -> Result<T::Row, ApiError> {
    let place = match T::organization(tx, &new, linked_organization)? {
        Some(organization_id) => tx.caller.create_in(T::SPEC, &organization_id)?,
        None => tx.caller.found(),
    };
    T::create(tx, place, new)
}

pub fn update<T: Update>(tx: &mut Tx, id: &str, changes: T::Changes) -> Result<T::Row, ApiError> {
    let record = tx.find::<T>(id, Action::Update)?;
    let event = T::update(tx, &record, changes)?;
    tx.updated::<T>(&record, event)
}

pub fn delete<T: Delete>(tx: &mut Tx, id: &str) -> Result<(), ApiError> {
    let record = tx.find::<T>(id, Action::Destroy)?;
    T::check(tx, &record)?;
    tx.delete::<T>(record)
}

/// The id a required to-one relationship names (the decoder has checked it is there).
pub fn required_link(document: &ResourceDocument, name: &str) -> Result<String, ApiError> {
    document.linked(name).flatten().ok_or_else(|| {
        ApiError::invalid(Invalid {
            location: document.relationship_source(name),
            detail: format!("{name} is required."),
        })
    })
}

/// A refusal of a value because of the record's state, at the attribute.
pub fn refuse(name: &str, detail: impl Into<String>) -> ApiError {
    ApiError::invalid(Invalid::attribute(name, detail))
}

/// A unique value another record holds already: 409 at the attribute, the same answer whether a
/// check finds it first or the database's unique index does (under a race).
pub fn duplicate(name: &str, detail: impl Into<String>) -> ApiError {
    ApiError::Conflict { detail: detail.into(), location: Source::attribute(name) }
}

/// A refusal that names no member of the request.
pub fn forbid(detail: impl Into<String>) -> ApiError {
    ApiError::Forbidden { detail: detail.into(), location: Source::None }
}
