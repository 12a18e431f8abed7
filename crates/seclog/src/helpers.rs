//! The spec's helper functions, and one helper per remaining event category.
//!
//! Each builds an [`EventInput`] and sends it through [`SecurityLogger::log_event`], so every
//! helper's event is validated, redacted, scored and monitored like any other.

use serde_json::{Map, Value};

use crate::error::Result;
use crate::logger::SecurityLogger;
use seclog_core::EventInput;

/// Optional details of an event: a JSON object.
pub type Details = Option<Map<String, Value>>;

fn input(
    event_type: &str,
    user_id: Option<&str>,
    ip_address: Option<&str>,
    user_agent: Option<&str>,
    details: Details,
) -> EventInput {
    EventInput {
        event_type: event_type.to_string(),
        user_id: user_id.map(str::to_string),
        ip_address: ip_address.map(str::to_string),
        user_agent: user_agent.map(str::to_string),
        details: details.map(Value::Object),
        ..EventInput::default()
    }
}

fn with(mut details: Details, pairs: &[(&str, Value)]) -> Details {
    let map = details.get_or_insert_with(Map::new);
    for (k, v) in pairs {
        map.entry(k.to_string()).or_insert_with(|| v.clone());
    }
    details
}

/// Logs a login attempt: `auth_success` or `auth_failure` (the spec's `log_auth_attempt`).
pub fn log_auth_attempt(
    logger: &SecurityLogger,
    user_id: &str,
    success: bool,
    ip_address: Option<&str>,
    user_agent: Option<&str>,
    details: Details,
) -> Result<String> {
    let ty = if success { "auth_success" } else { "auth_failure" };
    let mut ev = input(ty, Some(user_id), ip_address, user_agent, details);
    ev.compliance_tags = vec!["pci_dss_10.2.1.4".into()];
    logger.log_event(ev)
}

/// Logs a denied access to `resource` (the spec's `log_authorization_failure`).
pub fn log_authorization_failure(
    logger: &SecurityLogger,
    user_id: &str,
    resource: &str,
    ip_address: Option<&str>,
    user_agent: Option<&str>,
    details: Details,
) -> Result<String> {
    let details = with(details, &[("resource", Value::from(resource))]);
    let mut ev = input("authorization_failure", Some(user_id), ip_address, user_agent, details);
    ev.request_url = Some(resource.to_string());
    ev.compliance_tags = vec!["pci_dss_10.2.1.2".into()];
    logger.log_event(ev)
}

/// Logs rejected input (the spec's `log_input_validation_violation`).
///
/// The event type is `violation_type` when it names an attack event type
/// (`xss_attempt`, `sql_injection_attempt`, ...); otherwise the attack detector classifies
/// `input_data` and the specific attack type is logged when it finds one; otherwise
/// `input_validation_violation`. The input itself is stored (redacted) in `details.input`.
pub fn log_input_validation_violation(
    logger: &SecurityLogger,
    input_data: &str,
    violation_type: &str,
    ip_address: Option<&str>,
    user_agent: Option<&str>,
    details: Details,
) -> Result<String> {
    let classified = crate::classify::classify_violation(input_data, violation_type);
    let mut pairs =
        vec![("violation_type", Value::from(violation_type)), ("input", Value::from(input_data))];
    if !classified.attacks.is_empty() {
        pairs.push(("detected_attacks", Value::from(classified.attacks.clone())));
    }
    let details = with(details, &pairs);
    let mut ev = input(classified.event_type.as_str(), None, ip_address, user_agent, details);
    ev.indicators = classified.rules;
    logger.log_event(ev)
}

/// Logs a tripped rate limit (the spec's `log_rate_limiting_trigger`).
pub fn log_rate_limiting_trigger(
    logger: &SecurityLogger,
    ip_address: &str,
    endpoint: &str,
    limit_type: &str,
    details: Details,
) -> Result<String> {
    let details = with(
        details,
        &[("endpoint", Value::from(endpoint)), ("limit_type", Value::from(limit_type))],
    );
    let mut ev = input("rate_limiting_trigger", None, Some(ip_address), None, details);
    ev.request_url = Some(endpoint.to_string());
    logger.log_event(ev)
}

/// Session lifecycle events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEvent {
    /// `auth_logout`.
    Logout,
    /// `auth_session_expired`.
    Expired,
    /// `auth_session_hijacked`.
    Hijacked,
}

/// Logs a session event; the session id is stored only as a keyed hash.
pub fn log_session_event(
    logger: &SecurityLogger,
    kind: SessionEvent,
    user_id: &str,
    session_id: Option<&str>,
    ip_address: Option<&str>,
    details: Details,
) -> Result<String> {
    let ty = match kind {
        SessionEvent::Logout => "auth_logout",
        SessionEvent::Expired => "auth_session_expired",
        SessionEvent::Hijacked => "auth_session_hijacked",
    };
    let mut ev = input(ty, Some(user_id), ip_address, None, details);
    ev.session_id = session_id.map(str::to_string);
    logger.log_event(ev)
}

/// Logs a second-factor check: `auth_mfa_success` or `auth_mfa_failure`.
pub fn log_mfa_attempt(
    logger: &SecurityLogger,
    user_id: &str,
    success: bool,
    method: &str,
    ip_address: Option<&str>,
    details: Details,
) -> Result<String> {
    let ty = if success { "auth_mfa_success" } else { "auth_mfa_failure" };
    let details = with(details, &[("mfa_method", Value::from(method))]);
    logger.log_event(input(ty, Some(user_id), ip_address, None, details))
}

/// Logs a password change (`reset == false`) or reset.
pub fn log_password_event(
    logger: &SecurityLogger,
    user_id: &str,
    reset: bool,
    ip_address: Option<&str>,
    details: Details,
) -> Result<String> {
    let ty = if reset { "auth_password_reset" } else { "auth_password_change" };
    logger.log_event(input(ty, Some(user_id), ip_address, None, details))
}

/// Logs an account being locked or unlocked, with the reason.
pub fn log_account_lock(
    logger: &SecurityLogger,
    user_id: &str,
    locked: bool,
    reason: &str,
    details: Details,
) -> Result<String> {
    let ty = if locked { "auth_account_locked" } else { "auth_account_unlocked" };
    let details = with(details, &[("reason", Value::from(reason))]);
    logger.log_event(input(ty, Some(user_id), None, None, details))
}

/// What became of an uploaded file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadOutcome {
    /// `file_upload_attempt`: accepted.
    Accepted,
    /// `file_upload_rejected`: failed validation (type, size...).
    Rejected,
    /// `file_upload_malicious`: found to be malicious.
    Malicious,
}

/// Logs a file upload.
pub fn log_file_upload(
    logger: &SecurityLogger,
    user_id: Option<&str>,
    filename: &str,
    size_bytes: u64,
    outcome: UploadOutcome,
    ip_address: Option<&str>,
    details: Details,
) -> Result<String> {
    let ty = match outcome {
        UploadOutcome::Accepted => "file_upload_attempt",
        UploadOutcome::Rejected => "file_upload_rejected",
        UploadOutcome::Malicious => "file_upload_malicious",
    };
    let details = with(
        details,
        &[("filename", Value::from(filename)), ("size_bytes", Value::from(size_bytes))],
    );
    logger.log_event(input(ty, user_id, ip_address, None, details))
}

/// The outcome of an API call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiOutcome {
    /// `api_access`.
    Granted,
    /// `api_access_denied`.
    Denied,
    /// `api_rate_limited`.
    RateLimited,
    /// `api_signature_invalid`.
    SignatureInvalid,
}

/// Logs an API call by `client_id` to `endpoint`.
pub fn log_api_access(
    logger: &SecurityLogger,
    client_id: &str,
    endpoint: &str,
    outcome: ApiOutcome,
    ip_address: Option<&str>,
    details: Details,
) -> Result<String> {
    let ty = match outcome {
        ApiOutcome::Granted => "api_access",
        ApiOutcome::Denied => "api_access_denied",
        ApiOutcome::RateLimited => "api_rate_limited",
        ApiOutcome::SignatureInvalid => "api_signature_invalid",
    };
    let mut ev = input(ty, Some(client_id), ip_address, None, details);
    ev.request_url = Some(endpoint.to_string());
    logger.log_event(ev)
}

/// The outcome of a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentOutcome {
    /// `payment_processing`.
    Processed,
    /// `payment_failure`.
    Failed,
    /// `payment_fraud_detected`.
    FraudDetected,
}

/// Logs a payment. `amount` is text (e.g. `"12.50"`) so no precision is lost; card data in
/// `details` is masked by redaction.
pub fn log_payment_event(
    logger: &SecurityLogger,
    user_id: &str,
    amount: &str,
    currency: &str,
    outcome: PaymentOutcome,
    ip_address: Option<&str>,
    details: Details,
) -> Result<String> {
    let ty = match outcome {
        PaymentOutcome::Processed => "payment_processing",
        PaymentOutcome::Failed => "payment_failure",
        PaymentOutcome::FraudDetected => "payment_fraud_detected",
    };
    let details =
        with(details, &[("amount", Value::from(amount)), ("currency", Value::from(currency))]);
    let mut ev = input(ty, Some(user_id), ip_address, None, details);
    ev.compliance_tags = vec!["pci_dss".into()];
    logger.log_event(ev)
}

/// What was done to data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataAction {
    /// `data_access`.
    Access,
    /// `data_modification`.
    Modification,
    /// `data_deletion`.
    Deletion,
    /// `data_export`.
    Export,
    /// `data_breach_attempt`.
    BreachAttempt,
}

/// Logs access to or movement of data in `resource`.
pub fn log_data_access(
    logger: &SecurityLogger,
    user_id: &str,
    resource: &str,
    action: DataAction,
    record_count: Option<u64>,
    ip_address: Option<&str>,
    details: Details,
) -> Result<String> {
    let ty = match action {
        DataAction::Access => "data_access",
        DataAction::Modification => "data_modification",
        DataAction::Deletion => "data_deletion",
        DataAction::Export => "data_export",
        DataAction::BreachAttempt => "data_breach_attempt",
    };
    let mut pairs = vec![("resource", Value::from(resource))];
    if let Some(n) = record_count {
        pairs.push(("record_count", Value::from(n)));
    }
    let details = with(details, &pairs);
    let mut ev = input(ty, Some(user_id), ip_address, None, details);
    ev.compliance_tags = vec!["pci_dss_10.2.1.1".into()];
    logger.log_event(ev)
}

/// Administrative events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminEvent {
    /// `admin_action`.
    Action,
    /// `admin_access`.
    Access,
    /// `admin_escalation`.
    Escalation,
}

/// Logs an administrative event by `admin_id` (PCI DSS 10.2.1.2).
pub fn log_admin_action(
    logger: &SecurityLogger,
    admin_id: &str,
    kind: AdminEvent,
    action: &str,
    target: Option<&str>,
    ip_address: Option<&str>,
    details: Details,
) -> Result<String> {
    let ty = match kind {
        AdminEvent::Action => "admin_action",
        AdminEvent::Access => "admin_access",
        AdminEvent::Escalation => "admin_escalation",
    };
    let mut pairs = vec![("action", Value::from(action))];
    if let Some(t) = target {
        pairs.push(("target", Value::from(t)));
    }
    let details = with(details, &pairs);
    let mut ev = input(ty, Some(admin_id), ip_address, None, details);
    ev.compliance_tags = vec!["pci_dss_10.2.1.2".into()];
    logger.log_event(ev)
}

/// Logs a configuration change; `security_relevant` selects
/// `security_configuration_change` over `system_configuration_change`.
pub fn log_config_change(
    logger: &SecurityLogger,
    user_id: &str,
    setting: &str,
    security_relevant: bool,
    details: Details,
) -> Result<String> {
    let ty = if security_relevant {
        "security_configuration_change"
    } else {
        "system_configuration_change"
    };
    let details = with(details, &[("setting", Value::from(setting))]);
    let mut ev = input(ty, Some(user_id), None, None, details);
    ev.compliance_tags = vec!["pci_dss_10.2.1.7".into()];
    logger.log_event(ev)
}
