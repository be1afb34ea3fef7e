//! connect-converters: turn a record's value into message body bytes.
//!
//! The runtime picks a converter per connector (`value.converter`, default `json`) and
//! calls it on the task loop's hot path, so converters must not allocate more than the
//! output needs. Raw JSON values pass through untouched.

use bytes::Bytes;
use connect_api::RecordValue;

/// Why a value could not be converted.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    /// The JSON value could not be serialized.
    #[error("cannot serialize the record value as JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The record carries only an offset ([`RecordValue::OffsetOnly`]): there is no value
    /// to convert. The runtime sends nothing for such a record and never asks.
    #[error("an offset-only record has no value to convert")]
    OffsetOnly,
    /// The converter name is not known.
    #[error("unknown converter {0:?}; known converters: json")]
    Unknown(String),
}

/// Turns record values into message bodies.
pub trait Converter: Send + Sync {
    /// The converter's name as written in configs.
    fn name(&self) -> &'static str;
    /// The message body for `value`.
    fn convert(&self, value: &RecordValue) -> Result<Bytes, ConvertError>;
}

/// Writes values as compact JSON; raw JSON bytes are passed through as they are.
#[derive(Debug, Default, Clone, Copy)]
pub struct JsonConverter;

impl Converter for JsonConverter {
    fn name(&self) -> &'static str {
        "json"
    }

    fn convert(&self, value: &RecordValue) -> Result<Bytes, ConvertError> {
        match value {
            RecordValue::Json(v) => Ok(Bytes::from(serde_json::to_vec(v)?)),
            RecordValue::RawJson(bytes) => Ok(bytes.clone()),
            RecordValue::OffsetOnly => Err(ConvertError::OffsetOnly),
        }
    }
}

/// The converter named `name` (`json`, or RocketMQ Connect's and Kafka's JSON converter
/// class names).
pub fn converter_by_name(name: &str) -> Result<Box<dyn Converter>, ConvertError> {
    match name {
        "json"
        | "JsonConverter"
        | "org.apache.rocketmq.connect.runtime.converter.record.json.JsonConverter"
        | "org.apache.kafka.connect.json.JsonConverter" => Ok(Box::new(JsonConverter)),
        other => Err(ConvertError::Unknown(other.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_values_are_written_compactly() {
        let body = JsonConverter
            .convert(&RecordValue::Json(json!({"a": 1, "b": [true, null]})))
            .unwrap();
        assert_eq!(&body[..], br#"{"a":1,"b":[true,null]}"#);
    }

    #[test]
    fn raw_json_passes_through_byte_for_byte() {
        let raw = Bytes::from_static(b"{ \"kept\" : \"as is\" }");
        let body = JsonConverter
            .convert(&RecordValue::RawJson(raw.clone()))
            .unwrap();
        assert_eq!(body, raw);
    }

    #[test]
    fn an_offset_only_value_is_an_error_not_a_panic() {
        let err = JsonConverter.convert(&RecordValue::OffsetOnly).unwrap_err();
        assert!(matches!(err, ConvertError::OffsetOnly), "{err}");
    }

    #[test]
    fn unknown_converter_names_are_rejected_with_the_known_ones() {
        let err = converter_by_name("avro").err().unwrap();
        assert!(err.to_string().contains("known converters: json"));
    }
}
