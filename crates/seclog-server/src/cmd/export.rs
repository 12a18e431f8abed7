//! `seclog export`: JSON lines, page by page with the cursor (constant memory).

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::backend::Backend;
use crate::cli::ExportArgs;
use crate::cmd::query::filter_params;

pub(crate) fn run(backend: &dyn Backend, args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let params = filter_params(&args.filter)?;
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(BufWriter::with_capacity(
            1 << 20,
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => Box::new(BufWriter::with_capacity(1 << 20, io::stdout().lock())),
    };
    let bar = if args.quiet || !io::stderr().is_terminal() {
        ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden())
    } else {
        let bar = ProgressBar::new_spinner();
        if let Ok(style) = ProgressStyle::with_template("{spinner} {pos} events ({per_sec})") {
            bar.set_style(style);
        }
        bar
    };
    let page_size = args.page_size.clamp(1, 1000);
    let mut cursor: Option<String> = None;
    let mut count = 0u64;
    loop {
        let page = backend.query(&params, cursor.as_deref(), page_size)?;
        for e in &page.events {
            serde_json::to_writer(&mut out, e)?;
            out.write_all(b"\n")?;
        }
        count += page.events.len() as u64;
        bar.inc(page.events.len() as u64);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    out.flush()?;
    bar.finish_and_clear();
    eprintln!("exported {count} events");
    Ok(ExitCode::SUCCESS)
}
