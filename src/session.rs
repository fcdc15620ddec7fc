//! One session as callers send it: validation of the well-known fields, and rendering of the JSON we
//! store. Fields we do not interpret are carried as raw text, so they come back exactly as they went in.

use crate::error::{Error, ErrorKind, Result};
use crate::json::{self, RawObject};
use crate::session_type::SessionType;
use serde_json::value::RawValue;
use std::fmt::Write;

/// A validated session input, still borrowing the caller's text.
#[derive(Debug)]
pub struct SessionInput<'a> {
    object: RawObject<'a>,
    pub session_id: String,
    pub session_type: Option<SessionType>,
    pub user_id: Option<String>,
    agent_id: Option<String>,
    team_id: Option<String>,
    workflow_id: Option<String>,
    pub created_at: Option<i64>,
    pub updated_at: Option<i64>,
    pub session_name: Option<String>,
}

impl<'a> SessionInput<'a> {
    /// Parses one session. `text` must already have passed [`json::checked_text`].
    pub fn parse(text: &'a str) -> Result<Self> {
        let object = RawObject::parse(text, ErrorKind::InvalidSession)?;
        let mut session_id = None;
        let mut input = SessionInput {
            object: RawObject::default(),
            session_id: String::new(),
            session_type: None,
            user_id: None,
            agent_id: None,
            team_id: None,
            workflow_id: None,
            created_at: None,
            updated_at: None,
            session_name: None,
        };
        for (key, raw) in &object.fields {
            match key.as_ref() {
                "session_id" => session_id = optional_string(raw, "session_id")?,
                "session_type" => {
                    input.session_type = optional_string(raw, "session_type")?
                        .map(|name| SessionType::parse(&name).map_err(|e| Error::invalid_session(e.message)))
                        .transpose()?
                }
                "user_id" => input.user_id = optional_string(raw, "user_id")?,
                "agent_id" => input.agent_id = optional_string(raw, "agent_id")?,
                "team_id" => input.team_id = optional_string(raw, "team_id")?,
                "workflow_id" => input.workflow_id = optional_string(raw, "workflow_id")?,
                "created_at" => input.created_at = optional_timestamp(raw, "created_at")?,
                "updated_at" => input.updated_at = optional_timestamp(raw, "updated_at")?,
                "session_data" => input.session_name = session_name(raw)?,
                _ => {}
            }
        }
        input.session_id = match session_id {
            Some(id) if id.contains('\0') => {
                // No C caller could name it: ids are NUL-terminated there.
                return Err(Error::invalid_session("session_id must not contain U+0000"));
            }
            Some(id) if !id.is_empty() => id,
            Some(_) => return Err(Error::invalid_session("session_id must not be empty")),
            None => return Err(Error::invalid_session("session_id is required")),
        };
        input.object = object;
        Ok(input)
    }

    /// The id of the agent, team or workflow this session belongs to, for a store of type `ty`.
    pub fn entity_id(&self, ty: SessionType) -> Option<&str> {
        match ty {
            SessionType::Agent => self.agent_id.as_deref(),
            SessionType::Team => self.team_id.as_deref(),
            SessionType::Workflow | SessionType::WorkflowV2 => self.workflow_id.as_deref(),
        }
    }

    /// The JSON to store: the input's fields in their order and text, with the type and timestamps set.
    pub fn render(&self, ty: SessionType, created_at: i64, updated_at: i64) -> String {
        let session_type = format!("\"{}\"", ty.as_str());
        render_object(
            &self.object,
            &[
                ("session_type", &session_type),
                ("created_at", &created_at.to_string()),
                ("updated_at", &updated_at.to_string()),
            ],
        )
    }
}

/// Returns `stored` (JSON this store rendered) with `session_data.session_name` and `updated_at` replaced.
pub fn rename(stored: &str, name: &str, updated_at: i64) -> Result<String> {
    let object = RawObject::parse(stored, ErrorKind::InvalidSession)?;
    let mut name_json = String::new();
    json::write_str(&mut name_json, name);
    let session_data = match object.get("session_data") {
        Some(raw) if raw.get().starts_with('{') => render_object(
            &RawObject::parse(raw.get(), ErrorKind::InvalidSession)?,
            &[("session_name", &name_json)],
        ),
        _ => format!("{{\"session_name\":{name_json}}}"),
    };
    Ok(render_object(&object, &[("session_data", &session_data), ("updated_at", &updated_at.to_string())]))
}

/// Writes `object` with the values of `overrides` (JSON texts) replacing or, when absent, appended to
/// its fields.
fn render_object(object: &RawObject, overrides: &[(&str, &str)]) -> String {
    let capacity = object.fields.iter().map(|(k, v)| k.len() + v.get().len() + 4).sum::<usize>()
        + overrides.iter().map(|(k, v)| k.len() + v.len() + 4).sum::<usize>()
        + 2;
    let mut out = String::with_capacity(capacity);
    out.push('{');
    let mut used = [false; 4];
    debug_assert!(overrides.len() <= used.len());
    for (key, raw) in &object.fields {
        let value = match overrides.iter().position(|(k, _)| k == key) {
            Some(i) => {
                used[i] = true;
                overrides[i].1
            }
            None => raw.get(),
        };
        push_field(&mut out, key, value);
    }
    for (i, (key, value)) in overrides.iter().enumerate() {
        if !used[i] {
            push_field(&mut out, key, value);
        }
    }
    out.push('}');
    out
}

fn push_field(out: &mut String, key: &str, value: &str) {
    if out.len() > 1 {
        out.push(',');
    }
    json::write_str(out, key);
    out.push(':');
    out.push_str(value);
}

fn is_null(raw: &RawValue) -> bool {
    raw.get() == "null"
}

fn optional_string(raw: &RawValue, field: &str) -> Result<Option<String>> {
    if is_null(raw) {
        return Ok(None);
    }
    if !raw.get().starts_with('"') {
        return Err(Error::invalid_session(format!("{field} must be a string or null")));
    }
    serde_json::from_str(raw.get()).map(Some).map_err(|e| Error::invalid_session(format!("{field}: {e}")))
}

fn optional_timestamp(raw: &RawValue, field: &str) -> Result<Option<i64>> {
    if is_null(raw) {
        return Ok(None);
    }
    serde_json::from_str(raw.get()).map(Some).map_err(|_| {
        Error::invalid_session(format!(
            "{field} must be an integer number of unix seconds or null, not {}",
            excerpt(raw.get())
        ))
    })
}

fn session_name(session_data: &RawValue) -> Result<Option<String>> {
    if is_null(session_data) {
        return Ok(None);
    }
    if !session_data.get().starts_with('{') {
        return Err(Error::invalid_session("session_data must be an object or null"));
    }
    let object =
        RawObject::parse(session_data.get(), ErrorKind::InvalidSession).map_err(|e| e.at("session_data"))?;
    match object.get("session_name") {
        Some(raw) => optional_string(raw, "session_data.session_name"),
        None => Ok(None),
    }
}

/// The start of a value, for error messages that must stay short whatever the caller sent.
fn excerpt(text: &str) -> String {
    const MAX: usize = 40;
    if text.len() <= MAX {
        return text.to_owned();
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = String::with_capacity(end + 3);
    let _ = write!(out, "{}...", &text[..end]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<SessionInput<'_>> {
        SessionInput::parse(text)
    }

    #[test]
    fn well_known_fields_are_read() {
        let s = parse(
            r#"{"session_id":"s1","user_id":"u","agent_id":"a","team_id":"t","workflow_id":null,
               "created_at":5,"session_data":{"session_name":"Trip"},"memory":{"runs":[]}}"#,
        )
        .unwrap();
        assert_eq!(s.session_id, "s1");
        assert_eq!(s.user_id.as_deref(), Some("u"));
        assert_eq!(s.entity_id(SessionType::Agent), Some("a"));
        assert_eq!(s.entity_id(SessionType::Team), Some("t"));
        assert_eq!(s.entity_id(SessionType::Workflow), None);
        assert_eq!(s.created_at, Some(5));
        assert_eq!(s.updated_at, None);
        assert_eq!(s.session_name.as_deref(), Some("Trip"));
    }

    #[test]
    fn schema_violations_are_invalid_session() {
        for bad in [
            r#"{}"#,
            r#"{"session_id":""}"#,
            r#"{"session_id":"a\u0000b"}"#,
            r#"{"session_id":7}"#,
            r#"{"session_id":null}"#,
            r#"{"session_id":"s","user_id":1}"#,
            r#"{"session_id":"s","agent_id":{}}"#,
            r#"{"session_id":"s","created_at":"yesterday"}"#,
            r#"{"session_id":"s","created_at":1.5}"#,
            r#"{"session_id":"s","updated_at":99999999999999999999}"#,
            r#"{"session_id":"s","session_data":"x"}"#,
            r#"{"session_id":"s","session_data":{"session_name":3}}"#,
            r#"{"session_id":"s","session_type":"robot"}"#,
            r#"["s"]"#,
            r#""s""#,
        ] {
            assert_eq!(parse(bad).unwrap_err().kind, ErrorKind::InvalidSession, "{bad}");
        }
    }

    #[test]
    fn render_keeps_unknown_fields_verbatim_and_sets_type_and_times() {
        let text = r#"{"session_id":"s","memory":{"b" :[1.50, 2e3]},"created_at":null,"x":"\u00e9"}"#;
        let stored = parse(text).unwrap().render(SessionType::Team, 10, 20);
        assert_eq!(
            stored,
            r#"{"session_id":"s","memory":{"b" :[1.50, 2e3]},"created_at":10,"x":"\u00e9","session_type":"team","updated_at":20}"#
        );
    }

    #[test]
    fn rename_sets_the_name_inside_session_data_and_touches_updated_at() {
        let stored = r#"{"session_id":"s","session_data":{"a":1,"session_name":"old"},"updated_at":1}"#;
        assert_eq!(
            rename(stored, "new \"one\"", 9).unwrap(),
            r#"{"session_id":"s","session_data":{"a":1,"session_name":"new \"one\""},"updated_at":9}"#
        );
        let without = r#"{"session_id":"s","session_data":null,"updated_at":1}"#;
        assert_eq!(
            rename(without, "n", 2).unwrap(),
            r#"{"session_id":"s","session_data":{"session_name":"n"},"updated_at":2}"#
        );
    }

    #[test]
    fn excerpts_stay_short_on_char_boundaries() {
        let long = "é".repeat(100);
        let e = excerpt(&long);
        assert!(e.len() <= 43 && e.ends_with("..."));
    }
}
