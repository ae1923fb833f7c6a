//! Closed sets of names that people type: parsed forgivingly (case, spaces, `_`, `-`),
//! stored and answered canonically. Shared by every service's domain enums.

/// Lowercase letters and digits only: how names and headers are compared.
pub fn squash(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// An enum of canonical names with `ALL`, `as_str`, a forgiving `parse` and `names`; its
/// serde form and its OpenAPI schema are the canonical names. `Name as "SchemaName"` gives
/// the schema another name (two services' enums of one name would collide in the document).
#[macro_export]
macro_rules! named_enum {
    (@schema_name $name:ident) => { stringify!($name) };
    (@schema_name $name:ident $schema:literal) => { $schema };
    ($(#[doc = $doc:expr])* $name:ident $(as $schema:literal)? { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, ::serde::Serialize, ::serde::Deserialize)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        // Written out rather than derived: the derive does not see a `serde(rename)` given
        // through a macro, and published the Rust variant names instead of the wire's.
        impl ::utoipa::PartialSchema for $name {
            fn schema() -> ::utoipa::openapi::RefOr<::utoipa::openapi::schema::Schema> {
                let doc: &[&str] = &[$($doc),*];
                let doc = doc.iter().map(|l| l.trim()).collect::<Vec<_>>().join(" ");
                ::utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(::utoipa::openapi::schema::Type::String)
                    .description((!doc.is_empty()).then_some(doc))
                    .enum_values(Some([$($text),+]))
                    .into()
            }
        }

        impl ::utoipa::ToSchema for $name {
            fn name() -> ::std::borrow::Cow<'static, str> {
                ::std::borrow::Cow::Borrowed($crate::named_enum!(@schema_name $name $($schema)?))
            }
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The wire names, in order (for documentation: query parameters).
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// The value named by `s`, compared by [`squash`]($crate::named::squash).
            pub fn parse(s: &str) -> Option<Self> {
                let key = $crate::named::squash(s);
                Self::ALL.iter().copied().find(|v| $crate::named::squash(v.as_str()) == key)
            }

            pub fn names() -> String {
                Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
            }
        }
    };
}

/// `parse(raw)`, or `None` with a 422 field error that lists the accepted `names`.
pub fn parse_reported<T>(
    errors: &mut Vec<crate::FieldError>,
    field: &str,
    raw: &str,
    parse: fn(&str) -> Option<T>,
    names: String,
) -> Option<T> {
    let v = parse(raw);
    if v.is_none() {
        errors.push(crate::FieldError::field(field, "one_of", format!("one of {names}")).with_value(raw));
    }
    v
}

#[cfg(test)]
#[allow(dead_code)]
mod schema_tests {
    crate::named_enum!(
        /// A test set.
        Kind {
            Dna => "DNA",
            CellCulture => "Cell Culture",
        }
    );

    #[test]
    fn the_schema_lists_the_wire_names() {
        let schema = serde_json::to_value(<Kind as utoipa::PartialSchema>::schema()).unwrap();
        assert_eq!(schema["enum"], serde_json::json!(["DNA", "Cell Culture"]));
        assert_eq!(schema["description"], "A test set.");
        assert_eq!(serde_json::to_value(Kind::CellCulture).unwrap(), "Cell Culture");
        assert_eq!(<Kind as utoipa::ToSchema>::name(), "Kind");
    }
}
