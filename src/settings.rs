//! Runtime settings: typed keys with defaults, stored one row per key in `settings`.

use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{Error, FieldError};

/// How new tickets get an assignee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AutoAssign {
    /// New tickets stay unassigned.
    Off,
    /// Active agents in turn, fair across restarts.
    RoundRobin,
    /// A random active agent.
    Random,
}

/// Every runtime setting. A key without a row in the database has its default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
#[allow(clippy::struct_excessive_bools)] // settings are switches by nature
pub struct Settings {
    /// Name of the help desk, shown in the web UI and in emails.
    pub helpdesk_name: String,
    /// Whether customers may create their own accounts.
    pub allow_registration: bool,
    /// Whether the embeddable support bubble is offered to websites.
    pub support_bubble_enabled: bool,
    /// Address that receives new unassigned tickets and is shown to customers.
    pub support_email: Option<String>,
    /// Phone number shown to customers, in international form.
    pub phone_number: Option<String>,
    /// `WhatsApp` number shown to customers, in international form.
    pub whatsapp_number: Option<String>,
    /// Whether self-registered customers confirm their address (a mailed
    /// link) before they can sign in. Off only for closed installations.
    pub require_email_verification: bool,
    /// Whether `/metrics` answers anyone; otherwise only admins and clients
    /// on this machine (loopback), such as a local Prometheus.
    pub metrics_public: bool,
    /// Assignment of new tickets to active agents.
    pub auto_assign: AutoAssign,
    /// Whether `POST /api/v1/support/request` needs a valid `X-API-Key`.
    pub intake_requires_api_key: bool,
    /// Allowed ticket categories.
    pub categories: Vec<String>,
    /// Allowed ticket types.
    pub types: Vec<String>,
    /// Default lifetime of portal links, in days (1 to 30).
    pub portal_token_days: u32,
    /// Whether the mail that tells a requester their ticket is resolved
    /// asks them to rate the help (good / okay / bad).
    pub csat_enabled: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            helpdesk_name: "Helpline".into(),
            allow_registration: true,
            support_bubble_enabled: false,
            support_email: None,
            phone_number: None,
            whatsapp_number: None,
            require_email_verification: true,
            metrics_public: false,
            auto_assign: AutoAssign::Off,
            intake_requires_api_key: false,
            categories: vec![
                "general".into(),
                "billing".into(),
                "technical".into(),
                "account".into(),
            ],
            types: vec![
                "question".into(),
                "incident".into(),
                "problem".into(),
                "task".into(),
            ],
            portal_token_days: 7,
            csat_enabled: true,
        }
    }
}

/// The settings anyone may read (shown by the web UI before sign-in and by the widget).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PublicSettings {
    pub helpdesk_name: String,
    pub allow_registration: bool,
    pub support_bubble_enabled: bool,
    pub support_email: Option<String>,
    pub phone_number: Option<String>,
    pub whatsapp_number: Option<String>,
    /// The ticket categories to choose from.
    pub categories: Vec<String>,
    /// The ticket types to choose from.
    pub types: Vec<String>,
}

impl From<&Settings> for PublicSettings {
    fn from(s: &Settings) -> Self {
        Self {
            helpdesk_name: s.helpdesk_name.clone(),
            allow_registration: s.allow_registration,
            support_bubble_enabled: s.support_bubble_enabled,
            support_email: s.support_email.clone(),
            phone_number: s.phone_number.clone(),
            whatsapp_number: s.whatsapp_number.clone(),
            categories: s.categories.clone(),
            types: s.types.clone(),
        }
    }
}

impl Settings {
    /// Checks every key; all problems are reported at once.
    pub fn validate(&self) -> Result<(), Error> {
        let mut errors = Vec::new();
        let name = self.helpdesk_name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            errors.push(FieldError::new(
                "helpdesk_name",
                "must be 1 to 100 characters",
            ));
        }
        if let Some(email) = &self.support_email {
            // The address mail goes to and comes from: as strict as a user's.
            if email.trim() != email || crate::users::normalize_email(email).is_err() {
                errors.push(FieldError::new("support_email", "must be an email address"));
            }
        }
        for (field, value) in [
            ("phone_number", &self.phone_number),
            ("whatsapp_number", &self.whatsapp_number),
        ] {
            if let Some(number) = value {
                if !looks_like_phone(number) {
                    errors.push(FieldError::new(
                        field,
                        "must be a phone number in international form, like +44 20 7946 0958",
                    ));
                }
            }
        }
        for (field, list) in [("categories", &self.categories), ("types", &self.types)] {
            if let Err(message) = check_label_list(list) {
                errors.push(FieldError::new(field, message));
            }
        }
        if !(1..=30).contains(&self.portal_token_days) {
            errors.push(FieldError::new(
                "portal_token_days",
                "must be between 1 and 30",
            ));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Error::Validation(errors))
        }
    }
}

/// Categories and types: up to 50 distinct, non-empty names of up to 50 characters.
fn check_label_list(list: &[String]) -> Result<(), String> {
    if list.len() > 50 {
        return Err("at most 50 entries".into());
    }
    let mut seen = std::collections::HashSet::new();
    for label in list {
        let trimmed = label.trim();
        if trimmed.is_empty()
            || trimmed != label
            || label.chars().count() > 50
            || label.chars().any(char::is_control)
        {
            return Err(format!(
                "`{label}` must be 1 to 50 characters without surrounding spaces"
            ));
        }
        if !seen.insert(label.to_lowercase()) {
            return Err(format!("`{label}` appears twice"));
        }
    }
    Ok(())
}

/// Loads the settings: defaults, overlaid with stored rows. Rows for keys this
/// version does not know (left by a newer one) are ignored.
pub fn load(conn: &Connection) -> Result<Settings, Error> {
    let serde_json::Value::Object(mut map) = serde_json::to_value(Settings::default())
        .map_err(|e| Error::Internal(format!("serializing default settings: {e}")))?
    else {
        return Err(Error::Internal("settings are not an object".into()));
    };
    let mut stmt = conn.prepare_cached("SELECT key, value FROM settings")?;
    let rows = stmt.query_map([], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
    })?;
    for row in rows {
        let (key, raw) = row?;
        if let Some(slot) = map.get_mut(&key) {
            match serde_json::from_str(&raw) {
                Ok(value) => *slot = value,
                Err(e) => tracing::warn!(key, error = %e, "ignoring unreadable stored setting"),
            }
        }
    }
    serde_json::from_value(serde_json::Value::Object(map))
        .map_err(|e| Error::Internal(format!("stored settings do not fit their types: {e}")))
}

/// Validates and stores every key. Call inside the writer's transaction.
pub fn save(conn: &Connection, settings: &Settings) -> Result<(), Error> {
    settings.validate()?;
    let serde_json::Value::Object(map) = serde_json::to_value(settings)
        .map_err(|e| Error::Internal(format!("serializing settings: {e}")))?
    else {
        return Err(Error::Internal("settings are not an object".into()));
    };
    let now = crate::db::now();
    let mut stmt = conn.prepare_cached(
        "INSERT INTO settings (key, value, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
         WHERE value <> excluded.value",
    )?;
    for (key, value) in map {
        stmt.execute(params![key, value.to_string(), now])?;
    }
    Ok(())
}

/// Names of the keys whose values differ.
pub fn changed_keys(old: &Settings, new: &Settings) -> Vec<String> {
    let (Ok(serde_json::Value::Object(old)), Ok(serde_json::Value::Object(new))) =
        (serde_json::to_value(old), serde_json::to_value(new))
    else {
        return Vec::new();
    };
    new.iter()
        .filter(|(key, value)| old.get(*key) != Some(value))
        .map(|(key, _)| key.clone())
        .collect()
}

fn looks_like_phone(value: &str) -> bool {
    let digits = value.chars().filter(char::is_ascii_digit).count();
    value.starts_with('+')
        && (7..=15).contains(&digits)
        && value[1..]
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::db::migrate::migrate_connection(&mut conn).unwrap();
        conn
    }

    #[test]
    fn empty_table_gives_defaults() {
        assert_eq!(load(&db()).unwrap(), Settings::default());
    }

    #[test]
    fn saved_values_round_trip_and_unknown_rows_are_ignored() {
        let conn = db();
        let s = Settings {
            allow_registration: false,
            support_email: Some("help@example.com".into()),
            phone_number: Some("+44 20 7946 0958".into()),
            ..Settings::default()
        };
        save(&conn, &s).unwrap();
        conn.execute(
            "INSERT INTO settings (key, value, updated_at) VALUES ('from_the_future', '1', 'x')",
            [],
        )
        .unwrap();
        assert_eq!(load(&conn).unwrap(), s);
    }

    #[test]
    fn invalid_values_are_rejected_with_every_field() {
        let conn = db();
        let s = Settings {
            helpdesk_name: " ".into(),
            support_email: Some("nope".into()),
            whatsapp_number: Some("12345".into()),
            ..Settings::default()
        };
        let Err(Error::Validation(errors)) = save(&conn, &s) else {
            panic!("expected validation errors");
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["helpdesk_name", "support_email", "whatsapp_number"]
        );
        assert_eq!(
            load(&conn).unwrap(),
            Settings::default(),
            "nothing was written"
        );
    }
}
