//! The key that session ids are hashed with.

use std::io::Write;
use std::path::PathBuf;

use crate::config::Config;
use crate::error::{LogError, Result};

/// The 32-byte session hashing key: from the config, else from `<db_file>.key` (created with
/// a random key and mode 0600 on first use), else (in-memory database) a random one.
pub(crate) fn session_key(config: &Config) -> Result<[u8; 32]> {
    if let Some(hex) = &config.session_hash_key {
        return decode_hex32(hex)
            .ok_or_else(|| LogError::Config("session_hash_key must be 64 hex characters".into()));
    }
    if config.db_file.as_os_str() == ":memory:" {
        return random_key();
    }
    let mut path: PathBuf = config.db_file.clone().into_os_string().into();
    path.as_mut_os_string().push(".key");
    match std::fs::read_to_string(&path) {
        Ok(text) => decode_hex32(text.trim()).ok_or_else(|| {
            LogError::Config(format!("{} does not hold a 64-hex-character key", path.display()))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = random_key()?;
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            let mut f = opts
                .open(&path)
                .map_err(|e| LogError::Io(format!("cannot create {}: {e}", path.display())))?;
            f.write_all(encode_hex(&key).as_bytes())
                .map_err(|e| LogError::Io(format!("cannot write {}: {e}", path.display())))?;
            Ok(key)
        }
        Err(e) => Err(LogError::Io(format!("cannot read {}: {e}", path.display()))),
    }
}

fn random_key() -> Result<[u8; 32]> {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|e| LogError::Io(format!("no randomness: {e}")))?;
    Ok(key)
}

fn encode_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn decode_hex32(s: &str) -> Option<[u8; 32]> {
    let s = s.as_bytes();
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in s.chunks(2).enumerate() {
        let hi = (pair.first()? as &u8).to_owned();
        let lo = (pair.get(1)? as &u8).to_owned();
        let v = |c: u8| (c as char).to_digit(16);
        *out.get_mut(i)? = (v(hi)? * 16 + v(lo)?) as u8;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_created_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = Config { db_file: dir.path().join("x.db"), ..Config::default() };
        let a = session_key(&cfg).unwrap();
        let b = session_key(&cfg).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, [0u8; 32]);
    }

    #[test]
    fn configured_key_must_be_hex() {
        let cfg = Config { session_hash_key: Some("zz".into()), ..Config::default() };
        assert!(session_key(&cfg).is_err());
        let cfg = Config { session_hash_key: Some("ab".repeat(32)), ..Config::default() };
        assert_eq!(session_key(&cfg).unwrap(), [0xab; 32]);
    }
}
