//! Closed sets of names that people type: parsed forgivingly (case, spaces, `_`, `-`),
//! stored and answered canonically. Shared by every service's domain enums.

/// Lowercase letters and digits only: how names and headers are compared.
pub fn squash(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// An enum of canonical names with `ALL`, `as_str`, a forgiving `parse` and `names`.
#[macro_export]
macro_rules! named_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ::serde::Serialize, ::serde::Deserialize, ::utoipa::ToSchema)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

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
