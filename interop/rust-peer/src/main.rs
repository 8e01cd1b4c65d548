//! An interop peer on rust-libp2p, driven over stdin/stdout as `interop/PROTOCOL.md` says.

mod commands;
mod event_loop;
mod node;
mod output;
mod resp;
mod streams;
mod transport_interop;
mod wire;

use std::process::ExitCode;

use libp2p::{Multiaddr, identity::Keypair};
use serde_json::json;

use crate::{
    event_loop::EventLoop,
    node::{AGENT_VERSION, IMPLEMENTATION, LIBP2P_VERSION, PROTOCOL_VERSION, Security},
};

const USAGE: &str = "usage: rust-peer [--listen <multiaddr>]... [--security noise|tls|noise,tls|tls,noise]\n       rust-peer transport-interop";

struct Options {
    listen: Vec<Multiaddr>,
    security: Vec<Security>,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut options = Options {
        listen: Vec::new(),
        security: vec![Security::Noise],
    };
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--listen" => {
                let addr = value()?;
                options
                    .listen
                    .push(addr.parse().map_err(|e| format!("--listen {addr}: {e}"))?);
            }
            "--security" => {
                options.security = value()?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?;
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(options)
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1).peekable();
    let result = if args.peek().map(String::as_str) == Some("transport-interop") {
        transport_interop::run().await
    } else {
        match parse_args(args) {
            Ok(options) => run(options).await,
            Err(e) => Err(format!("{e}\n{USAGE}")),
        }
    };
    match result {
        Ok(()) => {
            // The blocking read of stdin cannot be cancelled, so leaving through the runtime
            // could hang on it; nothing is left to clean up.
            std::process::exit(0)
        }
        Err(e) => {
            eprintln!("rust-peer: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(options: Options) -> Result<(), String> {
    let (mut swarm, mut inbound) = node::build(Keypair::generate_ed25519(), &options.security)?;
    let addrs = node::listen(&mut swarm, &options.listen).await?;
    output::print(&json!({
        "event": "ready",
        "peerId": swarm.local_peer_id().to_string(),
        "addrs": addrs.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "agentVersion": AGENT_VERSION,
        "protocolVersion": PROTOCOL_VERSION,
        "protocols": node::announced_protocols().iter().map(AsRef::as_ref).collect::<Vec<&str>>(),
        "implementation": IMPLEMENTATION,
        "version": LIBP2P_VERSION,
    }));

    tokio::spawn(async move {
        while let Some(substream) = inbound.recv().await {
            tokio::spawn(wire::serve(substream));
        }
    });
    let (event_loop, client) = EventLoop::new(swarm, options.security);
    let node = tokio::spawn(event_loop.run());
    commands::run(client).await;
    node.await.map_err(|e| e.to_string())
}
