//! The libp2p node: transports, security, muxer and behaviours, the same for both modes.

use std::{str::FromStr, time::Duration};

use futures::{FutureExt, StreamExt};
use libp2p::{
    Multiaddr, StreamProtocol, Swarm, SwarmBuilder, identify,
    identity::Keypair,
    multiaddr::Protocol,
    noise, ping,
    swarm::{NetworkBehaviour, SwarmEvent},
    tcp, tls, yamux,
};
use tokio::sync::mpsc;

use crate::streams::{self, Substream};

pub const IMPLEMENTATION: &str = "rust-libp2p";
/// The `libp2p` crate version; Cargo.toml pins it exactly so this cannot drift.
pub const LIBP2P_VERSION: &str = "0.57.1";
pub const PROTOCOL_VERSION: &str = "ipfs/0.1.0";
pub const AGENT_VERSION: &str = concat!("tswarm-interop-rust-peer/", env!("CARGO_PKG_VERSION"));

pub const ECHO: StreamProtocol = StreamProtocol::new("/echo/1.0.0");
pub const DIGEST: StreamProtocol = StreamProtocol::new("/interop/digest/1.0.0");
pub const RESET: StreamProtocol = StreamProtocol::new("/interop/reset/1.0.0");
pub const OBSERVE: StreamProtocol = StreamProtocol::new("/interop/observe/1.0.0");
pub const PERF: StreamProtocol = StreamProtocol::new("/perf/1.0.0");

/// How often the ping behaviour measures every connection. It cannot be asked for a ping,
/// so the `ping` command waits for its next measurements; short keeps that wait short.
const PING_INTERVAL: Duration = Duration::from_millis(250);

/// The driver decides when a connection ends (`disconnect`, `quit`), never idleness.
const IDLE_CONNECTION_TIMEOUT: Duration = Duration::MAX;

/// By default a connection negotiates at most 128 inbound streams at a time, barely more
/// than the 100 concurrent echo streams the suite opens next to identify and ping.
const MAX_NEGOTIATING_INBOUND_STREAMS: usize = 512;

#[derive(Clone, Copy, Debug)]
pub enum Security {
    Noise,
    Tls,
}

impl Security {
    pub fn protocol_id(self) -> &'static str {
        match self {
            Security::Noise => "/noise",
            Security::Tls => "/tls/1.0.0",
        }
    }
}

impl FromStr for Security {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "noise" => Ok(Security::Noise),
            "tls" => Ok(Security::Tls),
            other => Err(format!("unsupported security protocol {other:?}")),
        }
    }
}

#[derive(NetworkBehaviour)]
pub struct Behaviour {
    pub identify: identify::Behaviour,
    pub ping: ping::Behaviour,
    pub streams: streams::Behaviour,
}

/// The protocols the node announces in identify, in the order of its handlers.
pub fn announced_protocols() -> Vec<StreamProtocol> {
    let mut protocols = vec![
        identify::PROTOCOL_NAME,
        identify::PUSH_PROTOCOL_NAME,
        ping::PROTOCOL_NAME,
    ];
    protocols.extend(served_protocols());
    protocols
}

fn served_protocols() -> [StreamProtocol; 5] {
    [ECHO, DIGEST, RESET, OBSERVE, PERF]
}

/// Builds the swarm with TCP (offering `security` in that order, then Yamux) and QUIC-v1.
/// Also returns the inbound streams of the served protocols.
pub fn build(
    key: Keypair,
    security: &[Security],
) -> Result<(Swarm<Behaviour>, mpsc::UnboundedReceiver<Substream>), String> {
    let (streams, inbound) = streams::Behaviour::new(served_protocols().to_vec());
    let behaviour = |key: &Keypair| Behaviour {
        // This identify signs the record in rust-libp2p's own envelope format, which only
        // rust-libp2p verifies; it also verifies only that format.
        identify: identify::Behaviour::new(
            identify::Config::new_with_signed_peer_record(PROTOCOL_VERSION.to_owned(), key)
                .with_agent_version(AGENT_VERSION.to_owned()),
        ),
        ping: ping::Behaviour::new(ping::Config::new().with_interval(PING_INTERVAL)),
        streams,
    };
    let builder = SwarmBuilder::with_existing_identity(key).with_tokio();

    // Each order of security protocols is a different upgrade type, so every arm finishes
    // the builder on its own. Yamux's default of 512 streams per connection is enough.
    macro_rules! finish {
        ($security:expr) => {
            builder
                .with_tcp(tcp::Config::default(), $security, yamux::Config::default)
                .map_err(|e| format!("TCP security setup: {e}"))?
                .with_quic()
                .with_behaviour(behaviour)
                .map_err(|e| e.to_string())?
                .with_swarm_config(|config| {
                    config
                        .with_idle_connection_timeout(IDLE_CONNECTION_TIMEOUT)
                        .with_max_negotiating_inbound_streams(MAX_NEGOTIATING_INBOUND_STREAMS)
                })
                .build()
        };
    }
    let swarm = match security {
        [Security::Noise] => finish!(noise::Config::new),
        [Security::Tls] => finish!(tls::Config::new),
        [Security::Noise, Security::Tls] => finish!((noise::Config::new, tls::Config::new)),
        [Security::Tls, Security::Noise] => finish!((tls::Config::new, noise::Config::new)),
        other => return Err(format!("unsupported security list {other:?}")),
    };
    Ok((swarm, inbound))
}

pub fn is_quic(addr: &Multiaddr) -> bool {
    addr.iter().any(|p| matches!(p, Protocol::QuicV1))
}

/// Starts listening on every address and returns the addresses once each listener has
/// reported at least one (all of them, for one bound to an unspecified address).
pub async fn listen(
    swarm: &mut Swarm<Behaviour>,
    addrs: &[Multiaddr],
) -> Result<Vec<Multiaddr>, String> {
    let mut pending = Vec::new();
    for addr in addrs {
        let id = swarm
            .listen_on(addr.clone())
            .map_err(|e| format!("listen on {addr}: {e}"))?;
        pending.push(id);
    }
    let mut listening = Vec::new();
    let mut on_event = |event, pending: &mut Vec<_>| match event {
        SwarmEvent::NewListenAddr {
            listener_id,
            address,
        } => {
            pending.retain(|id| *id != listener_id);
            listening.push(address);
            Ok(())
        }
        SwarmEvent::ListenerClosed { reason: Err(e), .. }
        | SwarmEvent::ListenerError { error: e, .. } => Err(format!("listener failed: {e}")),
        _ => Ok(()),
    };
    while !pending.is_empty() {
        let event = swarm.select_next_some().await;
        on_event(event, &mut pending)?;
    }
    // A listener on an unspecified address reports one address per interface, one event
    // each; take the ones already there.
    while let Some(event) = swarm.select_next_some().now_or_never() {
        on_event(event, &mut pending)?;
    }
    Ok(listening)
}
