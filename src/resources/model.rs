//! What a resource type is: its row (diesel), its typed attributes (serde), its allow-lists
//! (`spec`), and the statements that store it. A type module implements `Resource` (with the
//! `stored!` macro for the parts every table shares) and, for what it accepts, `Create`,
//! `Update` and `Delete` (in `write`). Everything else is shared machinery.

use std::marker::PhantomData;

use chrono::NaiveDateTime;
use diesel::QueryResult;
use serde::Serialize;

use crate::db::rows::{self, Row};
use crate::db::sql::Select;
use crate::db::AnyConnection;
use crate::domain::policy::Owner;
use crate::spec::query::Total;
use crate::spec::{ResourceSpec, Tenancy};
use crate::views::{fields, Record, RowView};

pub trait Resource: Send + Sync + 'static {
    /// The table's row. It serializes its columns (secrets skipped) for the audit trail.
    type Row: Row + Serialize + Clone;

    const SPEC: &'static ResourceSpec;

    fn id(row: &Self::Row) -> &str;

    /// The value of a key column: a to-one relationship's, or one a to-many relationship of
    /// another type matches on.
    fn key<'r>(row: &'r Self::Row, column: &str) -> Option<&'r str>;

    /// The type's own attributes as the wire shows them: the struct that renders them also
    /// describes them in the OpenAPI document.
    type Attributes<'r>: Serialize + utoipa::ToSchema;

    fn attributes(row: &Self::Row) -> Self::Attributes<'_>;

    /// The attributes every type shares, rendered after the type's own.
    fn common(row: &Self::Row) -> Common<'_>;

    /// One row by id: a statement of fixed shape, prepared once per connection.
    fn find(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<Self::Row>>;

    fn insert(conn: &mut AnyConnection, row: &Self::Row) -> QueryResult<()>;

    /// A write of this type may change what users may do (a membership, a permission): tell
    /// the policy whose grants to reload.
    fn grants_changed(
        _conn: &mut AnyConnection,
        _before: Option<&Self::Row>,
        _after: Option<&Self::Row>,
    ) -> QueryResult<()> {
        Ok(())
    }

    fn delete(conn: &mut AnyConnection, id: &str) -> QueryResult<()>;
}

/// `created_at`, `updated_at`, `reference`, `reference_origin`, `metadata`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Common<'a> {
    #[serde(serialize_with = "crate::views::time")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "crate::views::time")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: NaiveDateTime,
    pub reference: Option<&'a str>,
    pub reference_origin: Option<&'a str>,
    #[serde(serialize_with = "crate::views::json")]
    #[schema(value_type = Object)]
    pub metadata: &'a str,
}

/// A key column's value, whether the column is nullable or not.
pub trait AsKey {
    fn as_key(&self) -> Option<&str>;
}

impl AsKey for String {
    fn as_key(&self) -> Option<&str> {
        Some(self)
    }
}

impl AsKey for Option<String> {
    fn as_key(&self) -> Option<&str> {
        self.as_deref()
    }
}

/// The parts of `Resource` every table shares: the row type, the module's `SPEC`, the id, the
/// key columns, the common attributes, insert and delete. `stored!(roles, Role, [organization_id])`.
macro_rules! stored {
    ($table:ident, $row:ty, [$($key:ident),* $(,)?]) => {
        type Row = $row;
        const SPEC: &'static $crate::spec::ResourceSpec = &SPEC;

        fn id(row: &$row) -> &str {
            &row.id
        }

        fn key<'r>(row: &'r $row, column: &str) -> Option<&'r str> {
            match column {
                "id" => Some(&row.id),
                $(stringify!($key) => $crate::resources::model::AsKey::as_key(&row.$key),)*
                _ => None,
            }
        }

        fn common(row: &$row) -> $crate::resources::model::Common<'_> {
            $crate::resources::model::Common {
                created_at: row.created_at,
                updated_at: row.updated_at,
                reference: row.reference.as_deref(),
                reference_origin: row.reference_origin.as_deref(),
                metadata: &row.metadata,
            }
        }

        fn find(conn: &mut $crate::db::AnyConnection, id: &str) -> diesel::QueryResult<Option<$row>> {
            use diesel::{OptionalExtension, QueryDsl, RunQueryDsl, SelectableHelper};
            $crate::db::on_backend!(conn, |c| {
                $crate::db::schema::$table::table.find(id).select(<$row>::as_select()).first(c).optional()
            })
        }

        fn insert(conn: &mut $crate::db::AnyConnection, row: &$row) -> diesel::QueryResult<()> {
            use diesel::RunQueryDsl;
            diesel::insert_into($crate::db::schema::$table::table).values(row).execute(conn).map(drop)
        }

        fn delete(conn: &mut $crate::db::AnyConnection, id: &str) -> diesel::QueryResult<()> {
            use diesel::{QueryDsl, RunQueryDsl};
            diesel::delete($crate::db::schema::$table::table.find(id)).execute(conn).map(drop)
        }
    };
}
pub(crate) use stored;

/// Where a row lives, as its type's tenancy says.
pub fn owner<T: Resource>(row: &T::Row) -> Owner<'_> {
    match T::SPEC.tenancy {
        Tenancy::Organization => Owner::Organization(T::id(row)),
        Tenancy::OrganizationColumn(column) => Owner::Organization(T::key(row, column).unwrap_or_default()),
        Tenancy::Caller => Owner::User(T::id(row)),
    }
}

/// A typed row behind the `RowView` the renderer reads.
pub struct Typed<T: Resource>(pub T::Row);

impl<T: Resource> RowView for Typed<T> {
    fn id(&self) -> &str {
        T::id(&self.0)
    }

    fn key(&self, column: &str) -> Option<&str> {
        T::key(&self.0, column)
    }

    fn attributes(
        &self,
        fields: Option<&[String]>,
        reveal: Option<&(&'static str, String)>,
    ) -> serde_json::Result<Box<serde_json::value::RawValue>> {
        fields::attributes_json(&T::attributes(&self.0), &T::common(&self.0), fields, reveal)
    }

    fn column(&self, name: &str) -> Option<serde_json::Value> {
        match serde_json::to_value(&self.0) {
            Ok(serde_json::Value::Object(mut columns)) => columns.remove(name).filter(|v| !v.is_null()),
            _ => None,
        }
    }
}

pub fn record<T: Resource>(row: T::Row) -> Record {
    Record::new(T::SPEC, Box::new(Typed::<T>(row)))
}

/// A type as the shared machinery sees it when it knows only its name (includes, related
/// records, the registry).
pub trait AnyResource: Sync {
    fn spec(&self) -> &'static ResourceSpec;

    fn load(&self, conn: &mut AnyConnection, select: &Select) -> QueryResult<Vec<Record>>;

    fn page(&self, conn: &mut AnyConnection, select: &Select) -> QueryResult<(Vec<Record>, Total)>;

    /// The JSON Schema of the type's own attributes, from the struct that renders them.
    fn attributes_schema(&self) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>;
}

/// The registration of a type: `&Registered::<Roles>::TYPE`.
pub struct Registered<T>(PhantomData<fn() -> T>);

impl<T> Registered<T> {
    pub const TYPE: Registered<T> = Registered(PhantomData);
}

impl<T: Resource> AnyResource for Registered<T> {
    fn spec(&self) -> &'static ResourceSpec {
        T::SPEC
    }

    fn load(&self, conn: &mut AnyConnection, select: &Select) -> QueryResult<Vec<Record>> {
        Ok(rows::load::<T::Row>(conn, select)?.into_iter().map(record::<T>).collect())
    }

    fn page(&self, conn: &mut AnyConnection, select: &Select) -> QueryResult<(Vec<Record>, Total)> {
        let (rows, total) = rows::page::<T::Row>(conn, select)?;
        Ok((rows.into_iter().map(record::<T>).collect(), total))
    }

    fn attributes_schema(&self) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        <T::Attributes<'static> as utoipa::PartialSchema>::schema()
    }
}

/// The changeset of the attributes every type shares, with `updated_at` set to now; it goes
/// inside a `.set((…))` tuple beside the type's own columns.
macro_rules! common_changes {
    ($table:ident, $common:expr) => {{
        let common = $common;
        (
            common.reference.into_change().map(|v| $table::reference.eq(v)),
            common.reference_origin.into_change().map(|v| $table::reference_origin.eq(v)),
            common.metadata.map(|v| $table::metadata.eq(v)),
            $table::updated_at.eq($crate::domain::now()),
        )
    }};
}
pub(crate) use common_changes;

/// A table's row: its id, its own columns, and the columns every table shares. It loads by
/// name, inserts, and serializes its columns for the audit trail (JSON columns as JSON).
macro_rules! row {
    (pub struct $name:ident in $table:ident { $($(#[$field_meta:meta])* pub $field:ident: $type:ty,)* }) => {
        #[derive(Clone, diesel::Queryable, diesel::QueryableByName, diesel::Selectable, diesel::Insertable, serde::Serialize)]
        #[diesel(table_name = $crate::db::schema::$table)]
        pub struct $name {
            pub id: String,
            $($(#[$field_meta])* pub $field: $type,)*
            pub reference: Option<String>,
            pub reference_origin: Option<String>,
            #[serde(serialize_with = "crate::views::json")]
            pub metadata: String,
            #[diesel(deserialize_as = $crate::db::time::StoredTime)]
            pub created_at: chrono::NaiveDateTime,
            #[diesel(deserialize_as = $crate::db::time::StoredTime)]
            pub updated_at: chrono::NaiveDateTime,
        }

        /// A row shows its id alone: some hold secrets' hashes, and none is worth printing whole.
        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name)).field("id", &self.id).finish_non_exhaustive()
            }
        }
    };
}
pub(crate) use row;

/// A new row of `$row`: a fresh id, the given columns, the attributes every type shares from
/// the document's `Common`, and now as its creation and update time.
macro_rules! new_row {
    ($row:ident { $($field:ident $(: $value:expr)?),* $(,)? }, $common:expr) => {{
        let common: $crate::jsonapi::document::Common = $common;
        let now = $crate::domain::now();
        $row {
            id: $crate::domain::new_id(),
            $($field $(: $value)?,)*
            reference: common.reference.value(),
            reference_origin: common.reference_origin.value(),
            metadata: common.metadata.unwrap_or_else(|| "{}".into()),
            created_at: now,
            updated_at: now,
        }
    }};
}
pub(crate) use new_row;
