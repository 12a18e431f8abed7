-- seclog schema version 1: the specification's three tables plus query columns and indexes.
CREATE TABLE security_events (
    event_id TEXT PRIMARY KEY,
    event_type TEXT NOT NULL,
    severity TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    user_id TEXT,
    session_id TEXT,
    ip_address TEXT,
    user_agent TEXT,
    request_method TEXT,
    request_url TEXT,
    request_headers TEXT,
    request_body TEXT,
    response_status INTEGER,
    response_body TEXT,
    details TEXT,
    threat_level TEXT,
    risk_score REAL,
    indicators TEXT,
    status TEXT NOT NULL,
    investigation_notes TEXT,
    remediation_actions TEXT,
    compliance_tags TEXT,
    audit_trail TEXT,
    source TEXT,
    correlation_id TEXT,
    parent_event_id TEXT,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    ts INTEGER NOT NULL,
    ip_bin BLOB,
    severity_rank INTEGER NOT NULL
);
CREATE INDEX idx_events_ts ON security_events (ts);
CREATE INDEX idx_events_ip_ts ON security_events (ip_bin, ts) WHERE ip_bin IS NOT NULL;
CREATE INDEX idx_events_type_ts ON security_events (event_type, ts);
CREATE INDEX idx_events_user_ts ON security_events (user_id, ts) WHERE user_id IS NOT NULL;
CREATE INDEX idx_events_correlation ON security_events (correlation_id)
    WHERE correlation_id IS NOT NULL;

CREATE TABLE security_alerts (
    alert_id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    severity TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    event_ids TEXT,
    threat_indicators TEXT,
    recommended_actions TEXT,
    status TEXT NOT NULL,
    acknowledged_by TEXT,
    acknowledged_at TEXT,
    resolved_by TEXT,
    resolved_at TEXT,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    ts INTEGER NOT NULL,
    rule TEXT,
    alert_key TEXT,
    resolution TEXT,
    history TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX idx_alerts_ts ON security_alerts (ts);

CREATE TABLE suspicious_ips (
    ip_address TEXT PRIMARY KEY,
    threat_level TEXT NOT NULL,
    first_seen TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    last_seen TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    event_count INTEGER DEFAULT 1,
    blocked BOOLEAN DEFAULT FALSE,
    last_seen_ts INTEGER NOT NULL DEFAULT 0
);
