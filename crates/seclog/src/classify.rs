//! Turns a reported input violation into the most specific event type.

use seclog_core::detect::detect;
use seclog_core::{Category, EventType};

/// The outcome of classifying a violation.
#[derive(Debug, Clone, PartialEq)]
pub struct Classified {
    /// The event type to log.
    pub event_type: EventType,
    /// Attack classes the detector found (`sqli`, `xss`, `path_traversal`, `cmdi`).
    pub attacks: Vec<String>,
    /// The detector rules that fired, as indicators.
    pub rules: Vec<String>,
}

/// An explicit attack type in `violation_type` wins; otherwise the detector decides; otherwise
/// `input_validation_violation` (or the input-validation type `violation_type` names).
pub fn classify_violation(input_data: &str, violation_type: &str) -> Classified {
    let findings = detect(input_data);
    let mut attacks: Vec<String> = Vec::new();
    let mut rules: Vec<String> = Vec::new();
    for f in &findings {
        let class = f.class.as_str().to_string();
        if !attacks.contains(&class) {
            attacks.push(class);
        }
        rules.push(format!("{}:{}", f.class.as_str(), f.rule));
    }
    let named = violation_type.parse::<EventType>().ok();
    let event_type = match named {
        Some(t)
            if matches!(t.category(), Category::AttackDetection | Category::InputValidation) =>
        {
            if t.category() == Category::InputValidation {
                findings
                    .iter()
                    .max_by(|a, b| a.confidence.total_cmp(&b.confidence))
                    .map_or(t, |f| f.class.event_type())
            } else {
                t
            }
        }
        _ => findings
            .iter()
            .max_by(|a, b| a.confidence.total_cmp(&b.confidence))
            .map_or(EventType::InputValidationViolation, |f| f.class.event_type()),
    };
    Classified { event_type, attacks, rules }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_attack_type_wins() {
        let c = classify_violation("<script>alert('xss')</script>", "xss_attempt");
        assert_eq!(c.event_type, EventType::XssAttempt);
        assert!(c.attacks.contains(&"xss".to_string()));
    }

    #[test]
    fn detector_names_the_attack() {
        let c = classify_violation("1' OR '1'='1' --", "bad_format");
        assert_eq!(c.event_type, EventType::SqlInjectionAttempt);
        let c = classify_violation("../../../../etc/passwd", "input_validation_violation");
        assert_eq!(c.event_type, EventType::PathTraversalAttempt);
    }

    #[test]
    fn benign_input_stays_a_validation_violation() {
        let c = classify_violation("this comment is far too long for the field", "max_length");
        assert_eq!(c.event_type, EventType::InputValidationViolation);
        assert!(c.attacks.is_empty());
    }
}
