"""The thirteen Python code blocks of the specification ("MINGUS Security Logging and Monitoring
System"), transcribed verbatim in the order the specification gives them. The spec tests run the
usage examples among them unchanged and compare the definitions (enums, dataclasses, the risk
algorithm) with the package's."""

SPEC_PYTHON_BLOCKS = [
    r'''class SecurityEventLogger:
    """Comprehensive security event logger"""
    
    def __init__(self, config: Dict[str, Any]):
        # Initialize logging system with configuration
        # Setup database, file logging, and real-time monitoring
    
    def log_event(self, event: SecurityEvent) -> str:
        # Log security events with comprehensive tracking
        # Store in database, update counters, check for suspicious activity
''',
    r'''@dataclass
class SecurityEvent:
    """Security event data structure"""
    event_id: str
    event_type: SecurityEventType
    severity: SecurityEventSeverity
    timestamp: str
    user_id: Optional[str] = None
    session_id: Optional[str] = None
    ip_address: Optional[str] = None
    user_agent: Optional[str] = None
    request_method: Optional[str] = None
    request_url: Optional[str] = None
    request_headers: Optional[Dict[str, str]] = None
    request_body: Optional[str] = None
    response_status: Optional[int] = None
    response_body: Optional[str] = None
    details: Dict[str, Any] = field(default_factory=dict)
    threat_level: Optional[str] = None
    risk_score: Optional[float] = None
    indicators: List[str] = field(default_factory=list)
    status: SecurityEventStatus = SecurityEventStatus.DETECTED
    investigation_notes: List[str] = field(default_factory=list)
    remediation_actions: List[str] = field(default_factory=list)
    compliance_tags: List[str] = field(default_factory=list)
    audit_trail: List[str] = field(default_factory=list)
    source: Optional[str] = None
    correlation_id: Optional[str] = None
    parent_event_id: Optional[str] = None
''',
    r'''class SecurityEventType(Enum):
    """Types of security events"""
    # Authentication Events
    AUTH_SUCCESS = "auth_success"
    AUTH_FAILURE = "auth_failure"
    AUTH_LOGOUT = "auth_logout"
    AUTH_SESSION_EXPIRED = "auth_session_expired"
    AUTH_SESSION_HIJACKED = "auth_session_hijacked"
    AUTH_MFA_SUCCESS = "auth_mfa_success"
    AUTH_MFA_FAILURE = "auth_mfa_failure"
    AUTH_PASSWORD_CHANGE = "auth_password_change"
    AUTH_PASSWORD_RESET = "auth_password_reset"
    AUTH_ACCOUNT_LOCKED = "auth_account_locked"
    AUTH_ACCOUNT_UNLOCKED = "auth_account_unlocked"
    
    # Authorization Events
    AUTHORIZATION_FAILURE = "authorization_failure"
    AUTHORIZATION_GRANTED = "authorization_granted"
    AUTHORIZATION_REVOKED = "authorization_revoked"
    AUTHORIZATION_ESCALATION = "authorization_escalation"
    
    # Input Validation Events
    INPUT_VALIDATION_VIOLATION = "input_validation_violation"
    INPUT_SANITIZATION = "input_sanitization"
    INPUT_REJECTED = "input_rejected"
    
    # Rate Limiting Events
    RATE_LIMITING_TRIGGER = "rate_limiting_trigger"
    RATE_LIMITING_BLOCKED = "rate_limiting_blocked"
    RATE_LIMITING_RESET = "rate_limiting_reset"
    
    # Attack Detection Events
    SQL_INJECTION_ATTEMPT = "sql_injection_attempt"
    XSS_ATTEMPT = "xss_attempt"
    CSRF_ATTEMPT = "csrf_attempt"
    PATH_TRAVERSAL_ATTEMPT = "path_traversal_attempt"
    COMMAND_INJECTION_ATTEMPT = "command_injection_attempt"
    
    # File Upload Events
    FILE_UPLOAD_ATTEMPT = "file_upload_attempt"
    FILE_UPLOAD_REJECTED = "file_upload_rejected"
    FILE_UPLOAD_MALICIOUS = "file_upload_malicious"
    
    # API Security Events
    API_ACCESS = "api_access"
    API_ACCESS_DENIED = "api_access_denied"
    API_RATE_LIMITED = "api_rate_limited"
    API_SIGNATURE_INVALID = "api_signature_invalid"
    
    # Payment Security Events
    PAYMENT_PROCESSING = "payment_processing"
    PAYMENT_FAILURE = "payment_failure"
    PAYMENT_FRAUD_DETECTED = "payment_fraud_detected"
    
    # Data Security Events
    DATA_ACCESS = "data_access"
    DATA_MODIFICATION = "data_modification"
    DATA_DELETION = "data_deletion"
    DATA_EXPORT = "data_export"
    DATA_BREACH_ATTEMPT = "data_breach_attempt"
    
    # Admin Security Events
    ADMIN_ACTION = "admin_action"
    ADMIN_ACCESS = "admin_access"
    ADMIN_ESCALATION = "admin_escalation"
    
    # System Security Events
    SYSTEM_CONFIGURATION_CHANGE = "system_configuration_change"
    SECURITY_CONFIGURATION_CHANGE = "security_configuration_change"
    
    # Threat Detection Events
    SUSPICIOUS_ACTIVITY = "suspicious_activity"
    THREAT_DETECTED = "threat_detected"
    INCIDENT_REPORTED = "incident_reported"
''',
    r'''@dataclass
class SecurityAlert:
    """Security alert data structure"""
    alert_id: str
    title: str
    description: str
    severity: SecurityEventSeverity
    timestamp: str
    event_ids: List[str] = field(default_factory=list)
    threat_indicators: List[str] = field(default_factory=list)
    recommended_actions: List[str] = field(default_factory=list)
    status: str = "active"
    acknowledged_by: Optional[str] = None
    acknowledged_at: Optional[str] = None
    resolved_by: Optional[str] = None
    resolved_at: Optional[str] = None
''',
    r'''from security.logging import create_security_logger

# Create security logger with default configuration
security_logger = create_security_logger()

# Or with custom configuration
config = {
    'log_file': '/var/log/mingus/security.log',
    'db_file': '/var/lib/mingus/security_events.db',
    'max_events': 100000,
    'retention_days': 90,
    'enable_real_time_monitoring': True,
    'enable_alerting': True
}
security_logger = create_security_logger(config)
''',
    r'''from security.logging import log_auth_attempt

# Log successful authentication
event_id = log_auth_attempt(
    security_logger,
    user_id="user123",
    success=True,
    ip_address="192.168.1.100",
    user_agent="Mozilla/5.0...",
    details={'login_method': 'password', 'mfa_used': True}
)

# Log failed authentication
event_id = log_auth_attempt(
    security_logger,
    user_id="user123",
    success=False,
    ip_address="192.168.1.100",
    user_agent="Mozilla/5.0...",
    details={'failed_attempts': 3, 'account_locked': True}
)
''',
    r'''from security.logging import log_authorization_failure

event_id = log_authorization_failure(
    security_logger,
    user_id="user123",
    resource="/admin/users",
    ip_address="192.168.1.100",
    user_agent="Mozilla/5.0...",
    details={'required_role': 'admin', 'user_role': 'user'}
)
''',
    r'''from security.logging import log_input_validation_violation

event_id = log_input_validation_violation(
    security_logger,
    input_data="<script>alert('xss')</script>",
    violation_type="xss_attempt",
    ip_address="192.168.1.100",
    user_agent="Mozilla/5.0...",
    details={'field': 'comment', 'validation_rule': 'no_html_tags'}
)
''',
    r'''from security.logging import log_rate_limiting_trigger

event_id = log_rate_limiting_trigger(
    security_logger,
    ip_address="192.168.1.100",
    endpoint="/api/login",
    limit_type="authentication_attempts",
    details={'limit': 5, 'window': 300, 'current_count': 6}
)
''',
    r'''# Get recent security events
events = security_logger.get_events(limit=100)

# Get events with filters
filters = {
    'event_type': 'auth_failure',
    'ip_address': '192.168.1.100',
    'start_time': '2025-01-01T00:00:00Z',
    'end_time': '2025-01-02T00:00:00Z'
}
events = security_logger.get_events(filters=filters, limit=50)

# Get security statistics
stats = security_logger.get_statistics()
print(f"Total events: {stats['total_events']}")
print(f"Recent activity (24h): {stats['recent_activity_24h']}")
print(f"Blocked IPs: {stats['blocked_ips']}")
''',
    r'''from flask import Flask
from security.logging import integrate_with_flask, create_security_logger

app = Flask(__name__)
security_logger = create_security_logger()

# Integrate security logging with Flask
integrate_with_flask(app, security_logger)

# Flask will automatically log:
# - Authentication attempts (401 responses)
# - Authorization failures (403 responses)
# - Rate limiting triggers (429 responses)
# - Input validation violations (400 responses)
''',
    r'''alert_rules = {
    'high_failure_rate': {
        'threshold': 5,
        'window': 300,  # 5 minutes
        'event_types': [SecurityEventType.AUTH_FAILURE],
        'action': 'block_ip'
    },
    'suspicious_activity': {
        'threshold': 10,
        'window': 600,  # 10 minutes
        'event_types': [SecurityEventType.SUSPICIOUS_ACTIVITY],
        'action': 'alert'
    },
    'critical_violations': {
        'threshold': 1,
        'window': 60,  # 1 minute
        'event_types': [SecurityEventType.SQL_INJECTION_ATTEMPT, SecurityEventType.XSS_ATTEMPT],
        'action': 'immediate_block'
    }
}
''',
    r'''def _calculate_risk_score(self, event: SecurityEvent) -> float:
    """Calculate risk score for event"""
    base_score = {
        SecurityEventSeverity.CRITICAL: 10.0,
        SecurityEventSeverity.HIGH: 7.0,
        SecurityEventSeverity.MEDIUM: 4.0,
        SecurityEventSeverity.LOW: 1.0,
        SecurityEventSeverity.INFO: 0.5
    }.get(event.severity, 1.0)
    
    # Adjust based on event type
    type_multipliers = {
        SecurityEventType.SQL_INJECTION_ATTEMPT: 2.0,
        SecurityEventType.XSS_ATTEMPT: 1.8,
        SecurityEventType.AUTH_FAILURE: 1.5,
        SecurityEventType.RATE_LIMITING_TRIGGER: 1.2,
        SecurityEventType.SUSPICIOUS_ACTIVITY: 1.3
    }
    
    multiplier = type_multipliers.get(event.event_type, 1.0)
    
    # Adjust based on IP reputation
    if event.ip_address and event.ip_address in self.suspicious_ips:
        multiplier *= 1.5
    
    return min(10.0, base_score * multiplier)
''',
]
