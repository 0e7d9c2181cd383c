//! The `tracehound` binary: flags → settings → server, until SIGINT or SIGTERM.

use anyhow::Context;
use clap::Parser;
use tracehound::config::Config;

/// mimalloc rather than glibc malloc: spans are allocated on the decoding threads and freed on
/// whichever thread evicts them, which makes glibc's per-thread arenas grow without bound.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Config::parse().load()?.validate()?;
    let filter: tracing_subscriber::filter::Targets = settings.log.parse().context("invalid --log filter")?;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    tracing_subscriber::registry().with(tracing_subscriber::fmt::layer().with_ansi(ansi)).with(filter).init();

    let running = tracehound::server::start(settings).await?;
    shutdown_signal().await;
    tracing::info!("shutting down");
    running.shutdown().await;
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; stopping on SIGINT only");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}
