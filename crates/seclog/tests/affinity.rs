//! `writer_cpu`: the writer thread pinned to one CPU, seclog's other threads kept off it.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use seclog::{Config, LogError, SecurityLogger};
use seclog_store::affinity::current_thread_cpus;

/// The CPUs each of this process's threads named `name` may run on (from /proc).
fn cpus_of(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").unwrap() {
        let dir = task.unwrap().path();
        let Ok(comm) = std::fs::read_to_string(dir.join("comm")) else { continue };
        if comm.trim() != name {
            continue;
        }
        let status = std::fs::read_to_string(dir.join("status")).unwrap();
        let line = status.lines().find(|l| l.starts_with("Cpus_allowed_list:")).unwrap();
        out.push(line.split(':').nth(1).unwrap().trim().to_string());
    }
    out
}

/// A CPU list like "0" or "0-2,4".
fn parse_list(list: &str) -> Vec<usize> {
    list.split(',')
        .flat_map(|r| {
            let (a, b) = r.split_once('-').unwrap_or((r, r));
            a.parse::<usize>().unwrap()..=b.parse::<usize>().unwrap()
        })
        .collect()
}

#[test]
fn the_writer_runs_on_its_cpu_and_the_checkpoint_and_retention_threads_keep_off_it() {
    let cpus = current_thread_cpus().unwrap();
    let cpu = *cpus.last().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg =
        Config { db_file: dir.path().join("a.db"), writer_cpu: Some(cpu), ..Config::default() };
    let logger = SecurityLogger::new(cfg).unwrap();
    assert_eq!(cpus_of("seclog-writer"), vec![cpu.to_string()]);
    if cpus.len() > 1 {
        for name in ["seclog-checkpoi", "seclog-retentio"] {
            // Each thread names itself and moves itself off the CPU as it starts: give it a
            // moment (until it runs, it bears the name of the thread that spawned it).
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
            let allowed = loop {
                let sets = cpus_of(name);
                let late = std::time::Instant::now() > deadline;
                if sets.len() != 1 && !late {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                    continue;
                }
                assert_eq!(sets.len(), 1, "{name}: {sets:?}");
                let allowed = parse_list(&sets[0]);
                if !allowed.contains(&cpu) || late {
                    break allowed;
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            };
            assert!(!allowed.contains(&cpu), "{name} may run on {allowed:?}");
        }
    }
    // Events still flow through the pinned writer.
    logger.log_event(seclog::EventInput::of_type("auth_failure")).unwrap();
    logger.flush().unwrap();
    assert_eq!(logger.store().count_events(&Default::default()).unwrap(), 1);
    logger.close();
}

#[test]
fn a_cpu_this_process_cannot_use_is_a_configuration_error() {
    let unusable = (0..4096).find(|c| !current_thread_cpus().unwrap().contains(c)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = Config {
        db_file: dir.path().join("a.db"),
        writer_cpu: Some(unusable),
        ..Config::default()
    };
    match SecurityLogger::new(cfg) {
        Err(LogError::Config(m)) => {
            assert!(m.starts_with(&format!("writer_cpu {unusable}: ")), "{m}")
        }
        other => panic!("expected a configuration error, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn writer_cpu_comes_from_the_environment_and_rejects_garbage() {
    let mut cfg = Config::default();
    cfg.apply_env(|k| (k == "SECLOG_WRITER_CPU").then(|| "1".to_string())).unwrap();
    assert_eq!(cfg.writer_cpu, Some(1));
    let e = cfg.apply_env(|k| (k == "SECLOG_WRITER_CPU").then(|| "one".to_string())).unwrap_err();
    assert!(e.to_string().contains("SECLOG_WRITER_CPU"), "{e}");
    cfg.apply_env(|k| (k == "SECLOG_WRITER_CPU").then(String::new)).unwrap();
    assert_eq!(cfg.writer_cpu, None);
}
