//! `seclog serve` and `seclog keys`.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use seclog::SecurityLogger;

use crate::cli::{Format, KeysAction, ServeArgs};
use crate::output::{print_json, rfc3339};
use crate::server::auth::create_key;

/// Runs the server until SIGTERM/SIGINT; drains and commits the queue before exiting.
pub(crate) fn serve(logger: SecurityLogger, args: &ServeArgs) -> anyhow::Result<ExitCode> {
    if logger.store().count_active_api_keys()? == 0 {
        let (rec, key) = create_key(&logger, "admin (created on first start)", &["admin".into()])?;
        eprintln!("seclog: no API key existed; created admin key {} (shown once):", rec.id);
        eprintln!("seclog: admin key: {key}");
    }
    if let Some(cpu) = logger.config().writer_cpu {
        // The writer pinned itself to `cpu`; the runtime's threads (workers and blocking
        // threads alike) are started from this one and inherit its CPU set.
        if let Err(e) = seclog_store::affinity::avoid_cpu_current_thread(cpu) {
            eprintln!("seclog: warning: cannot keep the server's threads off CPU {cpu}: {e}");
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let app = crate::server::app(logger.clone())?;
    rt.block_on(async {
        match (&args.tls_cert, &args.tls_key) {
            (Some(cert), Some(key)) => serve_tls(&args.listen, cert, key, app).await,
            _ => {
                let listener = tokio::net::TcpListener::bind(&args.listen)
                    .await
                    .with_context(|| format!("cannot listen on {}", args.listen))?;
                let addr = listener.local_addr()?;
                eprintln!("seclog: listening on http://{addr}");
                crate::server::serve(listener, app).await.context("server error")
            }
        }
    })?;
    rt.shutdown_timeout(std::time::Duration::from_secs(10));
    logger.close();
    eprintln!("seclog: stopped; queue drained");
    Ok(ExitCode::SUCCESS)
}

/// Serves HTTPS with rustls (ring) until SIGTERM/SIGINT, then finishes in-flight requests.
async fn serve_tls(
    listen: &str,
    cert: &std::path::Path,
    key: &std::path::Path,
    app: axum::Router,
) -> anyhow::Result<()> {
    // Several crates may ask for it; the first install wins, which is the same provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
        .await
        .with_context(|| {
            format!("cannot load the TLS certificate {} and key {}", cert.display(), key.display())
        })?;
    let listener = std::net::TcpListener::bind(listen)
        .with_context(|| format!("cannot listen on {listen}"))?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let handle = axum_server::Handle::new();
    let stopper = handle.clone();
    tokio::spawn(async move {
        crate::server::shutdown_signal().await;
        stopper.graceful_shutdown(Some(std::time::Duration::from_secs(30)));
    });
    eprintln!("seclog: listening on https://{addr}");
    axum_server::from_tcp_rustls(listener, config)
        .handle(handle)
        .serve(app.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .await
        .context("server error")
}

/// `seclog keys create|list|revoke`.
pub(crate) fn keys(logger: &SecurityLogger, action: &KeysAction) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match action {
        KeysAction::Create { name, scope, format } => {
            let (rec, key) = create_key(logger, name, scope)?;
            match format {
                Format::Table => {
                    writeln!(out, "id:     {}", rec.id)?;
                    writeln!(out, "scopes: {}", rec.scopes.join(","))?;
                    writeln!(out, "key:    {key}")?;
                    eprintln!("(the key is shown only once; only its hash is stored)");
                }
                _ => print_json(
                    &mut out,
                    &serde_json::json!({"id": rec.id, "name": rec.name, "scopes": rec.scopes, "key": key}),
                )?,
            }
        }
        KeysAction::List { format } => {
            let keys = logger.store().list_api_keys()?;
            let rows: Vec<_> = keys
                .iter()
                .map(|k| {
                    serde_json::json!({
                        "id": k.id, "name": k.name, "scopes": k.scopes,
                        "created_at": rfc3339(k.created_at),
                        "revoked_at": k.revoked_at.map(rfc3339),
                        "last_used_at": k.last_used_at.map(rfc3339),
                    })
                })
                .collect();
            match format {
                Format::Table => {
                    writeln!(
                        out,
                        "{:<36}  {:<24}  {:<20}  {:<7}  CREATED",
                        "ID", "NAME", "SCOPES", "ACTIVE"
                    )?;
                    for k in &keys {
                        writeln!(
                            out,
                            "{:<36}  {:<24}  {:<20}  {:<7}  {}",
                            k.id,
                            k.name,
                            k.scopes.join(","),
                            k.is_active(),
                            rfc3339(k.created_at)
                        )?;
                    }
                }
                _ => print_json(&mut out, &rows)?,
            }
        }
        KeysAction::Revoke { id } => match logger.store().revoke_api_key(id, logger.now())? {
            Some(k) => writeln!(out, "revoked {} ({})", k.id, k.name)?,
            None => anyhow::bail!("no API key with id {id}"),
        },
    }
    Ok(ExitCode::SUCCESS)
}
