//! The vocabulary every layer shares, and nothing else: what each resource type accepts and
//! exposes (its attributes with the flags of the reference's per-field table: required,
//! creatable, updatable, filterable, sortable; its relationships; whose records they are), and
//! the parsed query (`query`). Query parsing, document decoding, SQL building and rendering all
//! read these allow-lists, so a type is declared once, in its module under `resources/`.

pub mod query;

/// The JSON type of an attribute, which decides how filter values are parsed and bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    String,
    Boolean,
    Integer,
    Datetime,
    /// A JSON object, stored as text.
    Object,
    /// An array of strings, stored as JSON text; never filtered or sorted.
    Strings,
}

pub const REQUIRED: u8 = 1;
pub const CREATE: u8 = 1 << 1;
pub const UPDATE: u8 = 1 << 2;
pub const FILTER: u8 = 1 << 3;
pub const SORT: u8 = 1 << 4;
/// Accepted on write but never stored or rendered (`_rotate_secret` and the like).
pub const TRIGGER: u8 = 1 << 5;
/// Accepted on write and stored, never rendered (an upstream provider's client secret).
pub const WRITE_ONLY: u8 = 1 << 6;

#[derive(Debug)]
pub struct Attribute {
    /// The attribute's name, which is also its column's.
    pub name: &'static str,
    pub kind: Kind,
    pub flags: u8,
}

impl Attribute {
    pub const fn new(name: &'static str, kind: Kind, flags: u8) -> Self {
        Attribute { name, kind, flags }
    }
    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }
    /// Whether responses show it (and `fields[type]` may name it).
    pub fn rendered(&self) -> bool {
        !self.has(TRIGGER | WRITE_ONLY)
    }
}

/// Attributes every type has, rendered after the type's own (as Commerce Layer does).
pub static COMMON_ATTRIBUTES: &[Attribute] = &[
    Attribute::new("created_at", Kind::Datetime, FILTER | SORT),
    Attribute::new("updated_at", Kind::Datetime, FILTER | SORT),
    Attribute::new("reference", Kind::String, CREATE | UPDATE | FILTER | SORT),
    Attribute::new("reference_origin", Kind::String, CREATE | UPDATE | FILTER | SORT),
    Attribute::new("metadata", Kind::Object, CREATE | UPDATE | FILTER),
];

/// `id` is no attribute, but filters and sorts like one.
pub static ID: Attribute = Attribute::new("id", Kind::String, FILTER | SORT);

/// Whose records these are, which decides who may see them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tenancy {
    /// The record is an organization: its active members see it.
    Organization,
    /// The record belongs to the organization named in this column.
    OrganizationColumn(&'static str),
    /// The record is the caller's own (users).
    Caller,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cardinality {
    /// The source row holds the target's id in `column`.
    ToOne { column: &'static str },
    /// Target rows hold the source's id in `foreign_key`.
    ToMany { foreign_key: &'static str },
    /// Target rows name the source by type and id (`versions.resource_type`/`resource_id`).
    ToManyTagged { type_column: &'static str, id_column: &'static str },
    /// A join table pairs source ids (`source_column`) with target ids (`target_column`).
    ToManyThrough { table: &'static str, source_column: &'static str, target_column: &'static str },
}

#[derive(Debug)]
pub struct Relationship {
    pub name: &'static str,
    /// The target's resource type (`organizations`).
    pub target: &'static str,
    pub cardinality: Cardinality,
    pub flags: u8,
}

impl Relationship {
    pub const fn to_one(name: &'static str, target: &'static str, column: &'static str, flags: u8) -> Self {
        Relationship { name, target, cardinality: Cardinality::ToOne { column }, flags }
    }
    pub const fn to_many(name: &'static str, target: &'static str, foreign_key: &'static str) -> Self {
        Relationship { name, target, cardinality: Cardinality::ToMany { foreign_key }, flags: 0 }
    }
    pub const fn tagged(
        name: &'static str,
        target: &'static str,
        type_column: &'static str,
        id_column: &'static str,
    ) -> Self {
        Relationship { name, target, cardinality: Cardinality::ToManyTagged { type_column, id_column }, flags: 0 }
    }
    /// Through a join table; the relationship is named for its target type.
    pub const fn through(
        target: &'static str,
        table: &'static str,
        source_column: &'static str,
        target_column: &'static str,
    ) -> Self {
        Relationship {
            name: target,
            target,
            cardinality: Cardinality::ToManyThrough { table, source_column, target_column },
            flags: 0,
        }
    }

    /// The same relationship, accepted in documents as `flags` say (`CREATE`, `UPDATE`).
    pub const fn with(self, flags: u8) -> Self {
        Relationship { flags, ..self }
    }

    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }
}

/// The registered types, as the layers below the registry see them: a type's allow-lists by
/// name (to follow `include` paths and check `fields[type]`), and the permission subjects.
pub trait Catalog: Sync {
    fn spec(&self, type_name: &str) -> Option<&'static ResourceSpec>;

    /// What a permission may name: every registered type but the caller's own user.
    fn subjects(&self) -> Vec<&'static str>;
}

#[derive(Debug)]
pub struct ResourceSpec {
    /// The JSON:API type, also the table's name and the path segment (`organizations`).
    pub type_name: &'static str,
    /// The type's own attributes, in rendering order; the common ones follow.
    pub attributes: &'static [Attribute],
    pub relationships: &'static [Relationship],
    pub tenancy: Tenancy,
}

/// A column a filter or sort may name: an attribute, `id`, or a to-one relationship's id
/// (`organization_id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    pub column: &'static str,
    pub kind: Kind,
}

impl ResourceSpec {
    /// Every attribute in rendering order.
    pub fn all_attributes(&self) -> impl Iterator<Item = &'static Attribute> {
        self.attributes.iter().chain(COMMON_ATTRIBUTES.iter())
    }

    pub fn attribute(&self, name: &str) -> Option<&'static Attribute> {
        self.all_attributes().find(|a| a.name == name)
    }

    pub fn relationship(&self, name: &str) -> Option<&'static Relationship> {
        self.relationships.iter().find(|r| r.name == name)
    }

    /// Whether `name` is something `fields[type]` may list.
    pub fn has_field(&self, name: &str) -> bool {
        self.attribute(name).is_some_and(Attribute::rendered) || self.relationship(name).is_some()
    }

    pub fn filterable(&self, name: &str) -> Option<Field> {
        if name == ID.name {
            return Some(Field { column: ID.name, kind: Kind::String });
        }
        if let Some(attribute) = self.attribute(name).filter(|a| a.has(FILTER)) {
            return Some(Field { column: attribute.name, kind: attribute.kind });
        }
        self.relationships.iter().find_map(|r| match r.cardinality {
            Cardinality::ToOne { column } if column == name => Some(Field { column, kind: Kind::String }),
            _ => None,
        })
    }

    pub fn sortable(&self, name: &str) -> Option<Field> {
        if name == ID.name {
            return Some(Field { column: ID.name, kind: Kind::String });
        }
        self.attribute(name).filter(|a| a.has(SORT)).map(|a| Field { column: a.name, kind: a.kind })
    }
}
