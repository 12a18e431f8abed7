//! The specification's risk score and the threat level derived from it.

use crate::event_type::EventType;
use crate::severity::Severity;

/// The specification's risk score, 0..=10: a base by severity (critical 10, high 7, medium 4,
/// low 1, info 0.5) times a type multiplier (sql_injection_attempt 2.0, xss_attempt 1.8,
/// auth_failure 1.5, rate_limiting_trigger 1.2, suspicious_activity 1.3, others 1.0), times 1.5
/// when the address is on the suspicious list, capped at 10.
pub fn risk_score(severity: Severity, event_type: EventType, ip_is_suspicious: bool) -> f64 {
    let base = match severity {
        Severity::Critical => 10.0,
        Severity::High => 7.0,
        Severity::Medium => 4.0,
        Severity::Low => 1.0,
        Severity::Info => 0.5,
    };
    let mut multiplier = match event_type {
        EventType::SqlInjectionAttempt => 2.0,
        EventType::XssAttempt => 1.8,
        EventType::AuthFailure => 1.5,
        EventType::RateLimitingTrigger => 1.2,
        EventType::SuspiciousActivity => 1.3,
        _ => 1.0,
    };
    if ip_is_suspicious {
        multiplier *= 1.5;
    }
    f64::min(10.0, base * multiplier)
}

/// The threat level of a score: `critical` from 9, `high` from 7, `medium` from 4, else `low`.
pub fn threat_level(score: f64) -> &'static str {
    if score >= 9.0 {
        "critical"
    } else if score >= 7.0 {
        "high"
    } else if score >= 4.0 {
        "medium"
    } else {
        "low"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn spec_numbers() {
        use EventType::*;
        use Severity::*;
        assert!(close(risk_score(Medium, AuthFailure, false), 6.0));
        assert!(close(risk_score(Medium, AuthFailure, true), 9.0));
        assert!(close(risk_score(Low, XssAttempt, false), 1.8));
        assert!(close(risk_score(High, SqlInjectionAttempt, false), 10.0));
        assert!(close(risk_score(Critical, SqlInjectionAttempt, true), 10.0));
        assert!(close(risk_score(Medium, RateLimitingTrigger, false), 4.8));
        assert!(close(risk_score(Low, SuspiciousActivity, false), 1.3));
        assert!(close(risk_score(Info, AuthSuccess, false), 0.5));
        assert!(close(risk_score(Info, AuthSuccess, true), 0.75));
        assert!(close(risk_score(High, CsrfAttempt, false), 7.0));
        assert!(close(risk_score(Low, XssAttempt, true), 2.7));
    }

    #[test]
    fn every_score_is_in_range() {
        for &t in EventType::ALL {
            for &s in Severity::ALL {
                for sus in [false, true] {
                    let r = risk_score(s, t, sus);
                    assert!((0.5..=10.0).contains(&r), "{t} {s} {sus}: {r}");
                    assert!(risk_score(s, t, true) >= risk_score(s, t, false));
                }
            }
        }
    }

    #[test]
    fn threat_levels() {
        assert_eq!(threat_level(10.0), "critical");
        assert_eq!(threat_level(9.0), "critical");
        assert_eq!(threat_level(8.99), "high");
        assert_eq!(threat_level(7.0), "high");
        assert_eq!(threat_level(6.0), "medium");
        assert_eq!(threat_level(4.0), "medium");
        assert_eq!(threat_level(3.9), "low");
        assert_eq!(threat_level(0.5), "low");
    }
}
