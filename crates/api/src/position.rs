//! Source partitions and offsets with one canonical stored form.
//!
//! Both are JSON objects whose keys are sorted at every depth, so the bytes the runtime
//! stores for a partition never depend on how a connector built it. Connectors convert
//! from and to their own typed structs with `from_typed` / `to_typed` and never build
//! storage keys by hand.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ConnectError;

fn canonicalize(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let sorted: BTreeMap<String, Value> =
                map.into_iter().map(|(k, v)| (k, canonicalize(v))).collect();
            let mut out = serde_json::Map::new();
            for (k, v) in sorted {
                out.insert(k, v);
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(canonicalize).collect()),
        other => other,
    }
}

macro_rules! canonical_map {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "Value", into = "Value")]
        // Shared: records of one partition carry clones of it, which cost a reference
        // count instead of a copy of the map.
        pub struct $name(Arc<BTreeMap<String, CanonicalValue>>);

        impl $name {
            /// Builds it from any value that serializes to a JSON object.
            pub fn from_typed<T: Serialize>(typed: &T) -> Result<Self, ConnectError> {
                let value = serde_json::to_value(typed).map_err(|e| {
                    ConnectError::fatal(concat!("cannot encode ", $what)).with_source(e)
                })?;
                Self::try_from(value).map_err(ConnectError::fatal)
            }

            /// Reads it back into a typed value.
            pub fn to_typed<T: DeserializeOwned>(&self) -> Result<T, ConnectError> {
                serde_json::from_value(Value::from(self.clone())).map_err(|e| {
                    ConnectError::fatal(concat!("cannot decode ", $what)).with_source(e)
                })
            }

            /// The canonical JSON bytes (keys sorted at every depth).
            pub fn to_canonical_bytes(&self) -> Vec<u8> {
                // Serializing a JSON value built from sorted maps cannot fail.
                serde_json::to_vec(&Value::from(self.clone())).unwrap_or_default()
            }

            /// Parses canonical (or any) JSON object bytes.
            pub fn from_json_bytes(bytes: &[u8]) -> Result<Self, ConnectError> {
                let value: Value = serde_json::from_slice(bytes).map_err(|e| {
                    ConnectError::fatal(concat!("stored ", $what, " is not JSON")).with_source(e)
                })?;
                Self::try_from(value).map_err(ConnectError::fatal)
            }

            /// The value under `key`.
            pub fn get(&self, key: &str) -> Option<&Value> {
                self.0.get(key).map(|v| &v.0)
            }
        }

        impl TryFrom<Value> for $name {
            type Error = String;
            fn try_from(value: Value) -> Result<Self, String> {
                match canonicalize(value) {
                    Value::Object(map) => Ok(Self(Arc::new(
                        map.into_iter().map(|(k, v)| (k, CanonicalValue(v))).collect(),
                    ))),
                    other => Err(format!(concat!("a ", $what, " must be a JSON object, got {}"), other)),
                }
            }
        }

        /// A JSON object always converts.
        impl From<serde_json::Map<String, Value>> for $name {
            fn from(map: serde_json::Map<String, Value>) -> Self {
                Self(Arc::new(
                    map.into_iter()
                        .map(|(k, v)| (k, CanonicalValue(canonicalize(v))))
                        .collect(),
                ))
            }
        }

        impl From<$name> for Value {
            fn from(p: $name) -> Value {
                let mut out = serde_json::Map::new();
                for (k, v) in Arc::unwrap_or_clone(p.0) {
                    out.insert(k, v.0);
                }
                Value::Object(out)
            }
        }
    };
}

/// A JSON value ordered and hashed by its canonical text, so maps of them can be keys.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CanonicalValue(Value);

impl std::hash::Hash for CanonicalValue {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.to_string().hash(state);
    }
}

impl PartialOrd for CanonicalValue {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for CanonicalValue {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.to_string().cmp(&other.0.to_string())
    }
}

canonical_map!(
    /// Where records come from inside the source system (for `es-source`: one concrete index).
    SourcePartition,
    "source partition"
);

canonical_map!(
    /// How far a partition has been read; the runtime stores it once the records before it
    /// were acknowledged by RocketMQ.
    SourceOffset,
    "source offset"
);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Cursor {
        value: i64,
        ids: Vec<String>,
    }

    #[test]
    fn canonical_bytes_do_not_depend_on_key_order() {
        let a = SourcePartition::try_from(json!({"b": 1, "a": {"y": 2, "x": 1}})).unwrap();
        let b = SourcePartition::try_from(json!({"a": {"x": 1, "y": 2}, "b": 1})).unwrap();
        assert_eq!(a.to_canonical_bytes(), b.to_canonical_bytes());
        assert_eq!(a.to_canonical_bytes(), br#"{"a":{"x":1,"y":2},"b":1}"#);
        assert_eq!(a, b);
    }

    #[test]
    fn typed_offsets_round_trip_through_bytes() {
        let c = Cursor {
            value: 42,
            ids: vec!["x".into(), "y".into()],
        };
        let off = SourceOffset::from_typed(&c).unwrap();
        let back = SourceOffset::from_json_bytes(&off.to_canonical_bytes()).unwrap();
        assert_eq!(back.to_typed::<Cursor>().unwrap(), c);
    }

    #[test]
    fn non_objects_are_rejected() {
        assert!(SourcePartition::try_from(json!([1, 2])).is_err());
        assert!(SourceOffset::from_json_bytes(b"not json").is_err());
    }
}
