//! seclog: embeddable security event logging (work in progress).
