//! `kube-emulator` binary: serves the emulated API until killed; must not write anything but
//! the kubeconfig it is asked for.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

/// Kubernetes API emulator for tests and the schemagate playground (not for production).
#[derive(Debug, Parser)]
#[command(name = "kube-emulator", version)]
struct Args {
    /// Address to listen on (use port 0 for an ephemeral port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Where to write the kubeconfig once the server is ready.
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let handle = kube_emulator::Emulator::builder()
        .listen(args.listen)
        .start()
        .await?;
    if let Some(path) = &args.kubeconfig {
        handle.write_kubeconfig(path)?;
    }
    println!("kube-emulator serving on {}", handle.url());
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r?,
        _ = term.recv() => {}
    }
    handle.shutdown().await;
    Ok(())
}
