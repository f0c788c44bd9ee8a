//! Sparse fieldsets over typed attributes. A type's attributes are a plain
//! `#[derive(Serialize)]` struct; `Entries` serializes such a struct as entries of an enclosing
//! JSON object, keeping the fields `fields[type]` names (all when it names none), so the
//! response is written straight from the typed values.

use serde::ser::{Error, Impossible, Serialize, SerializeMap, SerializeStruct, Serializer};

pub struct Entries<'a, M> {
    pub map: &'a mut M,
    /// The fields to keep; `None` keeps every one.
    pub fields: Option<&'a [String]>,
    /// A value shown in place of the stored one (a new client secret, in the one response
    /// that made it).
    pub reveal: Option<&'a (&'static str, String)>,
}

fn refuse<T, E: Error>() -> Result<T, E> {
    Err(E::custom("attributes serialize as a struct"))
}

macro_rules! refuse {
    ($($method:ident($($arg:ty),*) -> $out:ty;)*) => {
        $(fn $method(self, $(_: $arg),*) -> Result<$out, Self::Error> { refuse() })*
    };
}

impl<'a, M: SerializeMap> Serializer for Entries<'a, M> {
    type Ok = ();
    type Error = M::Error;
    type SerializeSeq = Impossible<(), M::Error>;
    type SerializeTuple = Impossible<(), M::Error>;
    type SerializeTupleStruct = Impossible<(), M::Error>;
    type SerializeTupleVariant = Impossible<(), M::Error>;
    type SerializeMap = Impossible<(), M::Error>;
    type SerializeStruct = Self;
    type SerializeStructVariant = Impossible<(), M::Error>;

    refuse! {
        serialize_bool(bool) -> ();
        serialize_i8(i8) -> ();
        serialize_i16(i16) -> ();
        serialize_i32(i32) -> ();
        serialize_i64(i64) -> ();
        serialize_u8(u8) -> ();
        serialize_u16(u16) -> ();
        serialize_u32(u32) -> ();
        serialize_u64(u64) -> ();
        serialize_f32(f32) -> ();
        serialize_f64(f64) -> ();
        serialize_char(char) -> ();
        serialize_str(&str) -> ();
        serialize_bytes(&[u8]) -> ();
        serialize_none() -> ();
        serialize_unit() -> ();
        serialize_unit_struct(&'static str) -> ();
        serialize_unit_variant(&'static str, u32, &'static str) -> ();
        serialize_seq(Option<usize>) -> Self::SerializeSeq;
        serialize_tuple(usize) -> Self::SerializeTuple;
        serialize_tuple_struct(&'static str, usize) -> Self::SerializeTupleStruct;
        serialize_tuple_variant(&'static str, u32, &'static str, usize) -> Self::SerializeTupleVariant;
        serialize_map(Option<usize>) -> Self::SerializeMap;
        serialize_struct_variant(&'static str, u32, &'static str, usize) -> Self::SerializeStructVariant;
    }

    fn serialize_some<T: ?Sized + Serialize>(self, _: &T) -> Result<(), Self::Error> {
        refuse()
    }

    fn serialize_newtype_struct<T: ?Sized + Serialize>(self, _: &'static str, _: &T) -> Result<(), Self::Error> {
        refuse()
    }

    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Self::Error> {
        refuse()
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, Self::Error> {
        Ok(self)
    }
}

impl<M: SerializeMap> SerializeStruct for Entries<'_, M> {
    type Ok = ();
    type Error = M::Error;

    fn serialize_field<T: ?Sized + Serialize>(&mut self, key: &'static str, value: &T) -> Result<(), M::Error> {
        if self.fields.is_some_and(|fields| !fields.iter().any(|f| f == key)) {
            return Ok(());
        }
        match self.reveal {
            Some((name, shown)) if *name == key => self.map.serialize_entry(key, shown),
            _ => self.map.serialize_entry(key, value),
        }
    }

    fn end(self) -> Result<(), M::Error> {
        Ok(())
    }
}

/// The attributes object of one resource: the type's own, then the common ones, written once
/// (`to_raw_value` keeps serde_json's own output without reading it back).
pub fn attributes_json(
    own: &impl Serialize,
    common: &impl Serialize,
    fields: Option<&[String]>,
    reveal: Option<&(&'static str, String)>,
) -> serde_json::Result<Box<serde_json::value::RawValue>> {
    serde_json::value::to_raw_value(&Attributes { own, common, fields, reveal })
}

struct Attributes<'a, O, C> {
    own: &'a O,
    common: &'a C,
    fields: Option<&'a [String]>,
    reveal: Option<&'a (&'static str, String)>,
}

impl<O: Serialize, C: Serialize> Serialize for Attributes<'_, O, C> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Attributes { own, common, fields, reveal } = *self;
        let mut map = serializer.serialize_map(None)?;
        own.serialize(Entries { map: &mut map, fields, reveal })?;
        common.serialize(Entries { map: &mut map, fields, reveal })?;
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;

    #[derive(Serialize)]
    struct Own<'a> {
        name: &'a str,
        secret: Option<&'a str>,
    }

    #[derive(Serialize)]
    struct Common {
        metadata: u8,
    }

    #[test]
    fn keeps_what_the_fieldset_names_in_order() {
        let own = Own { name: "Acme", secret: None };
        let all = attributes_json(&own, &Common { metadata: 1 }, None, None).unwrap();
        assert_eq!(all.get(), r#"{"name":"Acme","secret":null,"metadata":1}"#);
        let fields = ["metadata".to_string()];
        let sparse = attributes_json(&own, &Common { metadata: 1 }, Some(&fields), None).unwrap();
        assert_eq!(sparse.get(), r#"{"metadata":1}"#);
        let shown = ("secret", "s3cret".to_string());
        let revealed = attributes_json(&own, &Common { metadata: 1 }, None, Some(&shown)).unwrap();
        assert_eq!(revealed.get(), r#"{"name":"Acme","secret":"s3cret","metadata":1}"#);
        assert!(attributes_json(&1u8, &Common { metadata: 1 }, None, None).is_err());
    }
}
