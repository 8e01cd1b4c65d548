//! The task that owns the swarm. Commands reach it as requests over a channel and get their
//! answers back on a oneshot; everything that waits for swarm events (a dial, a ping, an
//! identify push, a disconnect) is kept here until the event comes.

use std::{collections::HashMap, mem, time::Duration};

use futures::StreamExt;
use libp2p::{
    Multiaddr, PeerId, StreamProtocol, Swarm,
    core::ConnectedPoint,
    identify,
    multiaddr::Protocol,
    ping,
    swarm::{
        ConnectionId, SwarmEvent,
        dial_opts::{DialOpts, PeerCondition},
    },
};
use tokio::sync::{mpsc, oneshot};

use crate::{
    node::{Behaviour, BehaviourEvent, Security, is_quic},
    streams::{OpenReply, Substream},
};

/// How long closing the node waits for its connections to close before it gives up.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

#[derive(Clone)]
pub struct ConnectionInfo {
    pub peer: PeerId,
    pub remote_addr: Multiaddr,
    /// Known from the endpoint for inbound connections; for outbound ones rust-libp2p does
    /// not report the local address, so it is the address the remote observed (identify).
    pub local_addr: Option<Multiaddr>,
    pub outbound: bool,
    pub transport: &'static str,
    /// Only known when a single protocol was on offer.
    pub security: Option<&'static str>,
    pub muxer: Option<&'static str>,
}

pub struct Connected {
    pub established_in: Duration,
    pub connection: ConnectionInfo,
}

pub enum Request {
    Connect {
        peer: PeerId,
        addr: Multiaddr,
        reply: ConnectReply,
    },
    Open {
        peer: PeerId,
        protocol: StreamProtocol,
        reply: OpenReply,
    },
    Ping {
        peer: PeerId,
        count: usize,
        reply: oneshot::Sender<Result<Vec<Duration>, String>>,
    },
    /// Answers with the newest identify info of `peer` once it lists `protocol` (if given).
    Identify {
        peer: PeerId,
        protocol: Option<String>,
        reply: oneshot::Sender<identify::Info>,
    },
    Handle {
        protocol: StreamProtocol,
        reply: oneshot::Sender<()>,
    },
    Connections {
        peer: PeerId,
        reply: oneshot::Sender<Vec<ConnectionInfo>>,
    },
    Disconnect {
        peer: PeerId,
        reply: oneshot::Sender<()>,
    },
    Close {
        reply: oneshot::Sender<()>,
    },
}

/// The commands' handle on the event loop.
#[derive(Clone)]
pub struct Client(mpsc::UnboundedSender<Request>);

impl Client {
    pub async fn call<T>(
        &self,
        request: impl FnOnce(oneshot::Sender<T>) -> Request,
    ) -> Result<T, String> {
        let (reply, answer) = oneshot::channel();
        self.0
            .send(request(reply))
            .map_err(|_| "the node is closed".to_owned())?;
        answer
            .await
            .map_err(|_| "the node dropped the request (connection closed?)".to_owned())
    }

    pub async fn open(&self, peer: PeerId, protocol: StreamProtocol) -> Result<Substream, String> {
        self.call(|reply| Request::Open {
            peer,
            protocol,
            reply,
        })
        .await?
    }
}

type ConnectReply = oneshot::Sender<Result<Connected, String>>;

struct PingWait {
    peer: PeerId,
    count: usize,
    rtts: Vec<Duration>,
    reply: oneshot::Sender<Result<Vec<Duration>, String>>,
}

struct IdentifyWait {
    peer: PeerId,
    protocol: Option<String>,
    reply: oneshot::Sender<identify::Info>,
}

pub struct EventLoop {
    swarm: Swarm<Behaviour>,
    security: Vec<Security>,
    requests: mpsc::UnboundedReceiver<Request>,
    connections: HashMap<ConnectionId, ConnectionInfo>,
    identified: HashMap<PeerId, identify::Info>,
    /// `connect`s whose connection is not established yet,
    dials: HashMap<ConnectionId, ConnectReply>,
    /// and those that wait for identify on it.
    identifying: HashMap<ConnectionId, (ConnectReply, Duration)>,
    pings: Vec<PingWait>,
    identify_waits: Vec<IdentifyWait>,
    disconnects: Vec<(PeerId, oneshot::Sender<()>)>,
}

impl EventLoop {
    pub fn new(swarm: Swarm<Behaviour>, security: Vec<Security>) -> (Self, Client) {
        let (sender, requests) = mpsc::unbounded_channel();
        let event_loop = Self {
            swarm,
            security,
            requests,
            connections: HashMap::new(),
            identified: HashMap::new(),
            dials: HashMap::new(),
            identifying: HashMap::new(),
            pings: Vec::new(),
            identify_waits: Vec::new(),
            disconnects: Vec::new(),
        };
        (event_loop, Client(sender))
    }

    pub async fn run(mut self) {
        loop {
            tokio::select! {
                event = self.swarm.select_next_some() => self.on_event(event),
                request = self.requests.recv() => match request {
                    Some(request) => if let Some(reply) = self.on_request(request) {
                        self.close().await;
                        let _ = reply.send(());
                        return;
                    },
                    // Every client is gone: nobody can ask for anything any more.
                    None => return self.close().await,
                },
            }
        }
    }

    async fn close(&mut self) {
        let peers: Vec<PeerId> = self.swarm.connected_peers().copied().collect();
        for peer in peers {
            let _ = self.swarm.disconnect_peer_id(peer);
        }
        let drain = async {
            while self.swarm.network_info().num_peers() > 0 {
                self.swarm.select_next_some().await;
            }
        };
        let _ = tokio::time::timeout(CLOSE_GRACE, drain).await;
    }

    /// Handles a request; for `Close`, hands back where to answer once the node is closed.
    fn on_request(&mut self, request: Request) -> Option<oneshot::Sender<()>> {
        match request {
            Request::Connect { peer, addr, reply } => {
                // Always a new connection, also when one to the peer is already open.
                let opts = DialOpts::peer_id(peer)
                    .addresses(vec![addr])
                    .condition(PeerCondition::Always)
                    .build();
                let id = opts.connection_id();
                match self.swarm.dial(opts) {
                    Ok(()) => {
                        self.dials.insert(id, reply);
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e.to_string()));
                    }
                }
            }
            Request::Open {
                peer,
                protocol,
                reply,
            } => {
                self.swarm
                    .behaviour_mut()
                    .streams
                    .open(peer, protocol, reply);
            }
            Request::Ping { peer, count, reply } => {
                if self.swarm.is_connected(&peer) {
                    self.pings.push(PingWait {
                        peer,
                        count,
                        rtts: Vec::new(),
                        reply,
                    });
                } else {
                    let _ = reply.send(Err(format!("not connected to {peer}")));
                }
            }
            Request::Identify {
                peer,
                protocol,
                reply,
            } => {
                let wait = IdentifyWait {
                    peer,
                    protocol,
                    reply,
                };
                if let Some(wait) = self.answer_identify(wait) {
                    self.identify_waits.push(wait);
                }
            }
            Request::Handle { protocol, reply } => {
                self.swarm.behaviour_mut().streams.add_protocol(protocol);
                let _ = reply.send(());
            }
            Request::Connections { peer, reply } => {
                let list = self
                    .connections
                    .values()
                    .filter(|c| c.peer == peer)
                    .cloned()
                    .collect();
                let _ = reply.send(list);
            }
            Request::Disconnect { peer, reply } => {
                if self.swarm.disconnect_peer_id(peer).is_ok() {
                    self.disconnects.push((peer, reply));
                } else {
                    let _ = reply.send(());
                }
            }
            Request::Close { reply } => return Some(reply),
        }
        None
    }

    fn on_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::ConnectionEstablished {
                peer_id,
                connection_id,
                endpoint,
                established_in,
                ..
            } => {
                let info = describe(peer_id, &endpoint, &self.security);
                self.connections.insert(connection_id, info);
                if let Some(reply) = self.dials.remove(&connection_id) {
                    self.identifying
                        .insert(connection_id, (reply, established_in));
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                connection_id,
                num_established,
                ..
            } => {
                self.connections.remove(&connection_id);
                if let Some((reply, _)) = self.identifying.remove(&connection_id) {
                    let _ = reply.send(Err("the connection closed before identify".to_owned()));
                }
                if num_established == 0 {
                    self.on_peer_gone(peer_id);
                }
            }
            SwarmEvent::OutgoingConnectionError {
                connection_id,
                error,
                ..
            } => {
                if let Some(reply) = self.dials.remove(&connection_id) {
                    let _ = reply.send(Err(error.to_string()));
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Identify(event)) => self.on_identify(event),
            SwarmEvent::Behaviour(BehaviourEvent::Ping(event)) => self.on_ping(&event),
            _ => {}
        }
    }

    fn on_peer_gone(&mut self, peer: PeerId) {
        for (_, reply) in extract(&mut self.disconnects, |(p, _)| *p == peer) {
            let _ = reply.send(());
        }
        for wait in extract(&mut self.pings, |w| w.peer == peer) {
            let _ = wait.reply.send(Err(format!("disconnected from {peer}")));
        }
    }

    fn on_identify(&mut self, event: identify::Event) {
        let connection_id = match event {
            identify::Event::Received {
                connection_id,
                peer_id,
                info,
            } => {
                if let Some(connection) = self.connections.get_mut(&connection_id) {
                    connection
                        .local_addr
                        .get_or_insert_with(|| info.observed_addr.clone());
                }
                self.identified.insert(peer_id, info);
                for wait in mem::take(&mut self.identify_waits) {
                    if let Some(wait) = self.answer_identify(wait) {
                        self.identify_waits.push(wait);
                    }
                }
                connection_id
            }
            // A peer that cannot be identified is still connected.
            identify::Event::Error { connection_id, .. } => connection_id,
            identify::Event::Sent { .. } | identify::Event::Pushed { .. } => return,
        };
        let waiting = self.identifying.remove(&connection_id);
        if let (Some((reply, established_in)), Some(connection)) =
            (waiting, self.connections.get(&connection_id))
        {
            let connection = connection.clone();
            let _ = reply.send(Ok(Connected {
                established_in,
                connection,
            }));
        }
    }

    /// Answers `wait` if what identify told us satisfies it, else hands it back.
    fn answer_identify(&self, wait: IdentifyWait) -> Option<IdentifyWait> {
        if wait.reply.is_closed() {
            return None;
        }
        let Some(info) = self.identified.get(&wait.peer) else {
            return Some(wait);
        };
        let listed = match &wait.protocol {
            Some(wanted) => info.protocols.iter().any(|p| p.as_ref() == wanted),
            None => true,
        };
        if !listed {
            return Some(wait);
        }
        let _ = wait.reply.send(info.clone());
        None
    }

    fn on_ping(&mut self, event: &ping::Event) {
        self.pings.retain(|w| !w.reply.is_closed());
        for mut wait in extract(&mut self.pings, |w| w.peer == event.peer) {
            match &event.result {
                Ok(rtt) => {
                    wait.rtts.push(*rtt);
                    if wait.rtts.len() < wait.count {
                        self.pings.push(wait);
                    } else {
                        let _ = wait.reply.send(Ok(wait.rtts));
                    }
                }
                Err(failure) => {
                    let _ = wait.reply.send(Err(format!("ping failed: {failure}")));
                }
            }
        }
    }
}

/// Removes and returns the items that match.
fn extract<T>(items: &mut Vec<T>, matches: impl Fn(&T) -> bool) -> Vec<T> {
    let (taken, kept) = mem::take(items).into_iter().partition(|item| matches(item));
    *items = kept;
    taken
}

fn describe(peer: PeerId, endpoint: &ConnectedPoint, security: &[Security]) -> ConnectionInfo {
    let (remote_addr, local_addr, outbound) = match endpoint {
        ConnectedPoint::Dialer { address, .. } => (without_p2p(address), None, true),
        ConnectedPoint::Listener {
            local_addr,
            send_back_addr,
        } => (send_back_addr.clone(), Some(local_addr.clone()), false),
    };
    let quic = is_quic(&remote_addr);
    ConnectionInfo {
        peer,
        transport: if quic { "quic-v1" } else { "tcp" },
        // QUIC brings its own TLS and streams; there is no negotiated protocol to name.
        security: match security {
            [only] if !quic => Some(only.protocol_id()),
            _ => None,
        },
        muxer: (!quic).then_some("/yamux/1.0.0"),
        remote_addr,
        local_addr,
        outbound,
    }
}

/// The address without its trailing `/p2p/<peer ID>`.
pub fn without_p2p(addr: &Multiaddr) -> Multiaddr {
    let mut addr = addr.clone();
    if let Some(Protocol::P2p(_)) = addr.iter().last() {
        addr.pop();
    }
    addr
}
