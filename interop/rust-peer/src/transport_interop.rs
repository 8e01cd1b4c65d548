//! The transport-interop test-app contract: configured by environment, the listener
//! publishes its address in Redis, the dialer connects, pings once and prints the timings.

use std::{
    env,
    net::IpAddr,
    time::{Duration, Instant},
};

use futures::StreamExt;
use libp2p::{
    Multiaddr, Swarm,
    identity::Keypair,
    multiaddr::Protocol,
    ping,
    swarm::{SwarmEvent, dial_opts::DialOpts},
};
use serde_json::json;

use crate::{
    node::{self, Behaviour, BehaviourEvent, Security, listen},
    output,
    resp::Redis,
};

#[derive(Clone, Copy)]
enum Transport {
    Tcp(Security),
    Quic,
}

struct Config {
    transport: Transport,
    is_dialer: bool,
    ip: IpAddr,
    redis_addr: String,
    timeout: Duration,
    key: String,
}

/// The uppercase (unified-testing) name wins over the lowercase (test-plans) one.
fn var(upper: &str, lower: &str) -> Option<String> {
    env::var(upper)
        .or_else(|_| env::var(lower))
        .ok()
        .filter(|v| !v.is_empty())
}

impl Config {
    fn from_env() -> Result<Self, String> {
        let transport = match var("TRANSPORT", "transport").as_deref() {
            Some("tcp") => {
                let security = var("SECURE_CHANNEL", "security")
                    .ok_or("security must be set for tcp")?
                    .parse()?;
                match var("MUXER", "muxer").as_deref() {
                    Some("yamux") => Transport::Tcp(security),
                    Some(other) => return Err(format!("unsupported muxer {other:?}")),
                    None => return Err("muxer must be set for tcp".to_owned()),
                }
            }
            Some("quic-v1") => Transport::Quic,
            Some(other) => return Err(format!("unsupported transport {other:?}")),
            None => return Err("transport must be set".to_owned()),
        };
        let is_dialer = match var("IS_DIALER", "is_dialer").as_deref() {
            Some("true") => true,
            Some("false") => false,
            other => return Err(format!("is_dialer must be true or false, not {other:?}")),
        };
        let ip = var("LISTENER_IP", "ip").unwrap_or_else(|| "0.0.0.0".to_owned());
        let ip = ip.parse().map_err(|e| format!("ip {ip:?}: {e}"))?;
        let timeout = match env::var("test_timeout_seconds") {
            Ok(secs) => secs
                .parse()
                .map_err(|e| format!("test_timeout_seconds {secs:?}: {e}"))?,
            Err(_) => 180,
        };
        let key = match env::var("TEST_KEY") {
            Ok(prefix) if !prefix.is_empty() => format!("{prefix}_listener_multiaddr"),
            _ => "listenerAddr".to_owned(),
        };
        Ok(Self {
            transport,
            is_dialer,
            ip,
            redis_addr: var("REDIS_ADDR", "redis_addr").unwrap_or_else(|| "redis:6379".to_owned()),
            timeout: Duration::from_secs(timeout),
            key,
        })
    }
}

pub async fn run() -> Result<(), String> {
    let config = Config::from_env()?;
    let security = match config.transport {
        Transport::Tcp(security) => security,
        // The TCP side is built all the same; it just offers the default.
        Transport::Quic => Security::Noise,
    };
    let (swarm, _) = node::build(Keypair::generate_ed25519(), &[security])?;
    let deadline = config.timeout;
    if config.is_dialer {
        tokio::time::timeout(deadline, dial(swarm, &config))
            .await
            .map_err(|_| format!("timeout after {} s", deadline.as_secs()))?
    } else {
        // The listener normally runs until it is killed; the timeout is its normal end.
        match tokio::time::timeout(deadline, serve(swarm, &config)).await {
            Ok(result) => result,
            Err(_) => Ok(()),
        }
    }
}

async fn serve(mut swarm: Swarm<Behaviour>, config: &Config) -> Result<(), String> {
    let ip = Multiaddr::from(config.ip);
    let addr = match config.transport {
        Transport::Tcp(_) => ip.with(Protocol::Tcp(0)),
        Transport::Quic => ip.with(Protocol::Udp(0)).with(Protocol::QuicV1),
    };
    let addrs = listen(&mut swarm, &[addr]).await?;
    // Bound to every interface, loopback is the one address the dialer (in its own
    // container) cannot use.
    let addr = addrs
        .into_iter()
        .find(|a| !config.ip.is_unspecified() || !is_loopback(a))
        .ok_or("no address to publish")?
        .with(Protocol::P2p(*swarm.local_peer_id()));
    let mut redis = Redis::connect(&config.redis_addr)
        .await
        .map_err(|e| format!("redis {}: {e}", config.redis_addr))?;
    redis
        .rpush(&config.key, &addr.to_string())
        .await
        .map_err(|e| format!("redis RPUSH: {e}"))?;
    eprintln!("listening on {addr}");
    loop {
        swarm.select_next_some().await;
    }
}

async fn dial(mut swarm: Swarm<Behaviour>, config: &Config) -> Result<(), String> {
    let mut redis = Redis::connect(&config.redis_addr)
        .await
        .map_err(|e| format!("redis {}: {e}", config.redis_addr))?;
    let addr = redis
        .blpop(&config.key, config.timeout.as_secs())
        .await
        .map_err(|e| format!("redis BLPOP: {e}"))?;
    let addr: Multiaddr = addr
        .parse()
        .map_err(|e| format!("listener address {addr:?}: {e}"))?;

    let start = Instant::now();
    let opts = DialOpts::from(addr);
    let connection = opts.connection_id();
    swarm.dial(opts).map_err(|e| e.to_string())?;
    loop {
        match swarm.select_next_some().await {
            SwarmEvent::OutgoingConnectionError {
                connection_id,
                error,
                ..
            } if connection_id == connection => {
                return Err(format!("dial: {error}"));
            }
            // The ping behaviour pings a new connection at once.
            SwarmEvent::Behaviour(BehaviourEvent::Ping(ping::Event {
                connection: c,
                result,
                ..
            })) if c == connection => {
                let rtt = result.map_err(|e| format!("ping: {e}"))?;
                let handshake_plus_rtt = start.elapsed();
                output::print(&json!({
                    "handshakePlusOneRTTMillis": handshake_plus_rtt.as_secs_f64() * 1000.0,
                    "pingRTTMilllis": rtt.as_secs_f64() * 1000.0,
                }));
                return Ok(());
            }
            _ => {}
        }
    }
}

fn is_loopback(addr: &Multiaddr) -> bool {
    addr.iter().any(|p| match p {
        Protocol::Ip4(ip) => ip.is_loopback(),
        Protocol::Ip6(ip) => ip.is_loopback(),
        _ => false,
    })
}
