//! Event types, their categories, OWASP Logging Vocabulary names and default severities.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::UnknownValue;
use crate::severity::Severity;

/// The category an event type belongs to (the spec's twelve groups).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Logins, logouts, sessions, MFA, passwords, account locks.
    Authentication,
    /// Access decisions and privilege changes.
    Authorization,
    /// Rejected or sanitised input.
    InputValidation,
    /// Rate limits and the blocks they cause.
    RateLimiting,
    /// Injection and forgery attempts.
    AttackDetection,
    /// File uploads.
    FileUpload,
    /// API access.
    Api,
    /// Payments.
    Payment,
    /// Access to and movement of data.
    Data,
    /// Administrative access and actions.
    Admin,
    /// Configuration of the system and of its security.
    System,
    /// Threat detection and incidents.
    Threat,
}

macro_rules! event_types {
    ($( $(#[$doc:meta])* $variant:ident => $wire:literal, $owasp:literal, $cat:ident, $sev:ident; )*) => {
        /// Every security event type of the specification.
        ///
        /// The serde form is the wire name (`auth_failure`); [`EventType::owasp_name`] gives the
        /// OWASP Logging Vocabulary name (`authn_login_fail`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum EventType {
            $( $(#[$doc])* $variant, )*
        }

        impl EventType {
            /// All event types, in the order of the specification.
            pub const ALL: &'static [EventType] = &[ $( EventType::$variant, )* ];

            /// The wire name used in JSON, the database and the spec (`auth_failure`).
            pub const fn as_str(self) -> &'static str {
                match self { $( EventType::$variant => $wire, )* }
            }

            /// The OWASP Logging Vocabulary name (or one in the same style where OWASP has none).
            pub const fn owasp_name(self) -> &'static str {
                match self { $( EventType::$variant => $owasp, )* }
            }

            /// The category of this type.
            pub const fn category(self) -> Category {
                match self { $( EventType::$variant => Category::$cat, )* }
            }

            /// The severity used when an event of this type does not state one.
            pub const fn default_severity(self) -> Severity {
                match self { $( EventType::$variant => Severity::$sev, )* }
            }
        }

        impl FromStr for EventType {
            type Err = UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $( $wire => Ok(EventType::$variant), )*
                    _ => Err(UnknownValue::new("event_type", s, EventType::ALL.iter().map(|t| t.as_str()))),
                }
            }
        }
    };
}

event_types! {
    /// A successful login.
    AuthSuccess => "auth_success", "authn_login_success", Authentication, Info;
    /// A failed login.
    AuthFailure => "auth_failure", "authn_login_fail", Authentication, Medium;
    /// A logout.
    AuthLogout => "auth_logout", "authn_logout", Authentication, Info;
    /// A session that expired.
    AuthSessionExpired => "auth_session_expired", "session_expired", Authentication, Info;
    /// A session used from a context that shows it was stolen.
    AuthSessionHijacked => "auth_session_hijacked", "session_hijacked", Authentication, Critical;
    /// A passed second factor.
    AuthMfaSuccess => "auth_mfa_success", "authn_mfa_success", Authentication, Info;
    /// A failed second factor.
    AuthMfaFailure => "auth_mfa_failure", "authn_mfa_fail", Authentication, Medium;
    /// A password change.
    AuthPasswordChange => "auth_password_change", "authn_password_change", Authentication, Low;
    /// A password reset.
    AuthPasswordReset => "auth_password_reset", "authn_password_reset", Authentication, Low;
    /// An account locked.
    AuthAccountLocked => "auth_account_locked", "authn_login_lock", Authentication, High;
    /// An account unlocked.
    AuthAccountUnlocked => "auth_account_unlocked", "authn_login_unlock", Authentication, Low;
    /// Access to a resource denied.
    AuthorizationFailure => "authorization_failure", "authz_fail", Authorization, Medium;
    /// A permission granted.
    AuthorizationGranted => "authorization_granted", "authz_change_grant", Authorization, Info;
    /// A permission revoked.
    AuthorizationRevoked => "authorization_revoked", "authz_change_revoke", Authorization, Low;
    /// An attempt to gain privileges the user does not have.
    AuthorizationEscalation => "authorization_escalation", "authz_escalation", Authorization, High;
    /// Input that failed validation.
    InputValidationViolation => "input_validation_violation", "input_validation_fail", InputValidation, Medium;
    /// Input that was sanitised before use.
    InputSanitization => "input_sanitization", "input_validation_sanitized", InputValidation, Low;
    /// Input that was rejected.
    InputRejected => "input_rejected", "input_validation_rejected", InputValidation, Medium;
    /// A rate limit exceeded.
    RateLimitingTrigger => "rate_limiting_trigger", "excess_rate_limit_exceeded", RateLimiting, Medium;
    /// A client blocked because of its rate.
    RateLimitingBlocked => "rate_limiting_blocked", "excess_rate_limit_blocked", RateLimiting, High;
    /// A rate limit reset.
    RateLimitingReset => "rate_limiting_reset", "excess_rate_limit_reset", RateLimiting, Info;
    /// An SQL injection attempt.
    SqlInjectionAttempt => "sql_injection_attempt", "malicious_sqli", AttackDetection, Critical;
    /// A cross-site scripting attempt.
    XssAttempt => "xss_attempt", "malicious_xss", AttackDetection, High;
    /// A cross-site request forgery attempt.
    CsrfAttempt => "csrf_attempt", "malicious_csrf", AttackDetection, High;
    /// A path traversal attempt.
    PathTraversalAttempt => "path_traversal_attempt", "malicious_path_traversal", AttackDetection, High;
    /// A command injection attempt.
    CommandInjectionAttempt => "command_injection_attempt", "malicious_cmdi", AttackDetection, Critical;
    /// A file upload.
    FileUploadAttempt => "file_upload_attempt", "upload_attempt", FileUpload, Info;
    /// A file upload that failed validation.
    FileUploadRejected => "file_upload_rejected", "upload_validation_fail", FileUpload, Medium;
    /// A file upload found to be malicious.
    FileUploadMalicious => "file_upload_malicious", "malicious_upload", FileUpload, High;
    /// An API call.
    ApiAccess => "api_access", "api_access", Api, Info;
    /// An API call denied.
    ApiAccessDenied => "api_access_denied", "authz_api_fail", Api, Medium;
    /// An API client rate limited.
    ApiRateLimited => "api_rate_limited", "excess_api_rate_limit_exceeded", Api, Medium;
    /// An API request with an invalid signature.
    ApiSignatureInvalid => "api_signature_invalid", "api_signature_fail", Api, High;
    /// A payment processed.
    PaymentProcessing => "payment_processing", "payment_processed", Payment, Info;
    /// A payment that failed.
    PaymentFailure => "payment_failure", "payment_fail", Payment, Medium;
    /// A payment flagged as fraud.
    PaymentFraudDetected => "payment_fraud_detected", "malicious_payment_fraud", Payment, Critical;
    /// Sensitive data read.
    DataAccess => "data_access", "sensitive_read", Data, Info;
    /// Sensitive data changed.
    DataModification => "data_modification", "sensitive_update", Data, Low;
    /// Sensitive data deleted.
    DataDeletion => "data_deletion", "sensitive_delete", Data, Medium;
    /// Sensitive data exported.
    DataExport => "data_export", "sensitive_export", Data, Medium;
    /// An attempt to exfiltrate data.
    DataBreachAttempt => "data_breach_attempt", "malicious_data_exfiltration", Data, Critical;
    /// An administrative action.
    AdminAction => "admin_action", "authz_admin", Admin, Low;
    /// Access to an administrative function.
    AdminAccess => "admin_access", "authz_admin_access", Admin, Info;
    /// An attempt to gain administrative privileges.
    AdminEscalation => "admin_escalation", "authz_admin_escalation", Admin, Critical;
    /// A change to the system's configuration.
    SystemConfigurationChange => "system_configuration_change", "sys_config_change", System, Low;
    /// A change to security settings.
    SecurityConfigurationChange => "security_configuration_change", "sys_security_config_change", System, Medium;
    /// Activity that looks suspicious.
    SuspiciousActivity => "suspicious_activity", "malicious_suspicious_activity", Threat, Medium;
    /// A threat detected.
    ThreatDetected => "threat_detected", "malicious_threat_detected", Threat, High;
    /// An incident reported.
    IncidentReported => "incident_reported", "incident_reported", Threat, High;
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for EventType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EventType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<str>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn there_are_49_types_with_unique_names() {
        assert_eq!(EventType::ALL.len(), 49);
        let wire: HashSet<_> = EventType::ALL.iter().map(|t| t.as_str()).collect();
        let owasp: HashSet<_> = EventType::ALL.iter().map(|t| t.owasp_name()).collect();
        assert_eq!(wire.len(), 49);
        assert_eq!(owasp.len(), 49);
    }

    #[test]
    fn wire_names_round_trip() {
        for t in EventType::ALL {
            assert_eq!(t.as_str().parse::<EventType>().ok(), Some(*t));
            let json = serde_json::to_string(t).unwrap();
            assert_eq!(json, format!("\"{}\"", t.as_str()));
            let back: EventType = serde_json::from_str(&json).unwrap();
            assert_eq!(back, *t);
        }
    }

    #[test]
    fn owasp_names_of_the_vocabulary() {
        assert_eq!(EventType::AuthFailure.owasp_name(), "authn_login_fail");
        assert_eq!(EventType::AuthorizationFailure.owasp_name(), "authz_fail");
        assert_eq!(EventType::InputValidationViolation.owasp_name(), "input_validation_fail");
        assert_eq!(EventType::RateLimitingTrigger.owasp_name(), "excess_rate_limit_exceeded");
        assert_eq!(EventType::SqlInjectionAttempt.owasp_name(), "malicious_sqli");
    }

    #[test]
    fn categories_have_the_spec_counts() {
        let count = |c| EventType::ALL.iter().filter(|t| t.category() == c).count();
        assert_eq!(count(Category::Authentication), 11);
        assert_eq!(count(Category::Authorization), 4);
        assert_eq!(count(Category::InputValidation), 3);
        assert_eq!(count(Category::RateLimiting), 3);
        assert_eq!(count(Category::AttackDetection), 5);
        assert_eq!(count(Category::FileUpload), 3);
        assert_eq!(count(Category::Api), 4);
        assert_eq!(count(Category::Payment), 3);
        assert_eq!(count(Category::Data), 5);
        assert_eq!(count(Category::Admin), 3);
        assert_eq!(count(Category::System), 2);
        assert_eq!(count(Category::Threat), 3);
    }

    #[test]
    fn unknown_type_names_value_and_lists_accepted() {
        let err = "auth_fail".parse::<EventType>().unwrap_err().to_string();
        assert!(err.contains("auth_fail"), "{err}");
        assert!(err.contains("auth_failure"), "{err}");
        assert!(err.contains("event_type"), "{err}");
        let err = serde_json::from_str::<EventType>("\"nope\"").unwrap_err().to_string();
        assert!(err.contains("nope") && err.contains("xss_attempt"), "{err}");
    }
}
