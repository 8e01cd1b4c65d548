//! A behaviour that hands plain streams to the application: every inbound stream of a
//! registered protocol, and outbound streams on request.
//!
//! `libp2p-stream` does the same, but it passes inbound streams through a channel with room
//! for one and drops whatever arrives while that slot is taken, so a burst of streams from one
//! peer (the suite opens 100 echo streams at once) loses most of them. It also opens outbound
//! streams one at a time per connection. This one queues without a bound and opens outbound
//! streams concurrently.

use std::{
    collections::{HashMap, VecDeque},
    convert::Infallible,
    future::{Ready, ready},
    sync::{Arc, PoisonError, RwLock},
    task::{Context, Poll},
};

use libp2p::{
    Multiaddr, PeerId, Stream, StreamProtocol,
    core::{
        Endpoint,
        transport::PortUse,
        upgrade::{InboundUpgrade, OutboundUpgrade, UpgradeInfo},
    },
    swarm::{
        ConnectionDenied, ConnectionHandler, ConnectionHandlerEvent, ConnectionId, FromSwarm,
        NetworkBehaviour, NotifyHandler, SubstreamProtocol, THandler, THandlerInEvent,
        THandlerOutEvent, ToSwarm,
        handler::{
            ConnectionEvent, DialUpgradeError, FullyNegotiatedInbound, FullyNegotiatedOutbound,
        },
    },
};
use tokio::sync::{mpsc, oneshot};

use crate::node::is_quic;

/// A negotiated stream and what the application needs to know about it.
#[derive(Debug)]
pub struct Substream {
    pub stream: Stream,
    pub peer: PeerId,
    pub protocol: StreamProtocol,
    /// Yamux turns a received reset into a plain end of stream on the read side (only a later
    /// write fails), while QUIC reports it as a read error. Readers that must tell the two
    /// apart need to know which muxer carries the stream.
    pub reset_reads_as_eof: bool,
}

pub type OpenReply = oneshot::Sender<Result<Substream, String>>;

pub struct Behaviour {
    /// Shared with every handler, so a protocol added later is offered on existing
    /// connections too (and identify pushes the change).
    protocols: Arc<RwLock<Vec<StreamProtocol>>>,
    inbound: mpsc::UnboundedSender<Substream>,
    connections: HashMap<ConnectionId, PeerId>,
    pending: VecDeque<ToSwarm<Infallible, HandlerIn>>,
}

impl Behaviour {
    pub fn new(protocols: Vec<StreamProtocol>) -> (Self, mpsc::UnboundedReceiver<Substream>) {
        let (inbound, receiver) = mpsc::unbounded_channel();
        let behaviour = Self {
            protocols: Arc::new(RwLock::new(protocols)),
            inbound,
            connections: HashMap::new(),
            pending: VecDeque::new(),
        };
        (behaviour, receiver)
    }

    /// Accepts inbound streams of `protocol` from now on. Returns false if it already was.
    pub fn add_protocol(&mut self, protocol: StreamProtocol) -> bool {
        {
            let mut protocols = self
                .protocols
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            if protocols.contains(&protocol) {
                return false;
            }
            protocols.push(protocol);
        }
        // A connection only compares its handlers' protocols with what it announced when it
        // is polled; a message to each one makes that happen now rather than at its next frame.
        for (&connection, &peer_id) in &self.connections {
            self.pending.push_back(ToSwarm::NotifyHandler {
                peer_id,
                handler: NotifyHandler::One(connection),
                event: HandlerIn::ProtocolsChanged,
            });
        }
        true
    }

    /// Opens a stream to a connected peer; the answer goes to `reply`.
    pub fn open(&mut self, peer_id: PeerId, protocol: StreamProtocol, reply: OpenReply) {
        if !self.connections.values().any(|p| *p == peer_id) {
            let _ = reply.send(Err(format!("not connected to {peer_id}")));
            return;
        }
        self.pending.push_back(ToSwarm::NotifyHandler {
            peer_id,
            handler: NotifyHandler::Any,
            event: HandlerIn::Open { protocol, reply },
        });
    }

    fn handler(&self, peer: PeerId, remote_addr: &Multiaddr) -> Handler {
        Handler {
            peer,
            protocols: Arc::clone(&self.protocols),
            inbound: self.inbound.clone(),
            // Every connection that is not QUIC runs over Yamux.
            reset_reads_as_eof: !is_quic(remote_addr),
            requested: VecDeque::new(),
        }
    }
}

impl NetworkBehaviour for Behaviour {
    type ConnectionHandler = Handler;
    type ToSwarm = Infallible;

    fn handle_established_inbound_connection(
        &mut self,
        _: ConnectionId,
        peer: PeerId,
        _: &Multiaddr,
        remote_addr: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(self.handler(peer, remote_addr))
    }

    fn handle_established_outbound_connection(
        &mut self,
        _: ConnectionId,
        peer: PeerId,
        addr: &Multiaddr,
        _: Endpoint,
        _: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(self.handler(peer, addr))
    }

    fn on_swarm_event(&mut self, event: FromSwarm) {
        match event {
            FromSwarm::ConnectionEstablished(e) => {
                self.connections.insert(e.connection_id, e.peer_id);
            }
            FromSwarm::ConnectionClosed(e) => {
                self.connections.remove(&e.connection_id);
            }
            _ => {}
        }
    }

    fn on_connection_handler_event(
        &mut self,
        _: PeerId,
        _: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        match event {}
    }

    fn poll(&mut self, _: &mut Context<'_>) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        // Events are only queued from the swarm's own task, which polls the swarm again
        // right after, so no waker needs keeping.
        match self.pending.pop_front() {
            Some(event) => Poll::Ready(event),
            None => Poll::Pending,
        }
    }
}

#[derive(Debug)]
pub enum HandlerIn {
    Open {
        protocol: StreamProtocol,
        reply: OpenReply,
    },
    /// Carries nothing: receiving it is what makes the connection notice new protocols.
    ProtocolsChanged,
}

pub struct Handler {
    peer: PeerId,
    protocols: Arc<RwLock<Vec<StreamProtocol>>>,
    inbound: mpsc::UnboundedSender<Substream>,
    reset_reads_as_eof: bool,
    requested: VecDeque<(StreamProtocol, OpenReply)>,
}

impl Handler {
    fn substream(&self, stream: Stream, protocol: StreamProtocol) -> Substream {
        Substream {
            stream,
            peer: self.peer,
            protocol,
            reset_reads_as_eof: self.reset_reads_as_eof,
        }
    }
}

impl ConnectionHandler for Handler {
    type FromBehaviour = HandlerIn;
    type ToBehaviour = Infallible;
    type InboundProtocol = Protocols;
    type OutboundProtocol = Protocols;
    type InboundOpenInfo = ();
    type OutboundOpenInfo = OpenReply;

    fn listen_protocol(&self) -> SubstreamProtocol<Protocols> {
        let protocols = self
            .protocols
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        SubstreamProtocol::new(Protocols(protocols.clone()), ())
    }

    fn poll(
        &mut self,
        _: &mut Context<'_>,
    ) -> Poll<ConnectionHandlerEvent<Protocols, OpenReply, Infallible>> {
        // Requests only arrive through `on_behaviour_event`, after which the connection polls
        // its handler again.
        match self.requested.pop_front() {
            Some((protocol, reply)) => {
                Poll::Ready(ConnectionHandlerEvent::OutboundSubstreamRequest {
                    protocol: SubstreamProtocol::new(Protocols(vec![protocol]), reply),
                })
            }
            None => Poll::Pending,
        }
    }

    fn on_behaviour_event(&mut self, event: HandlerIn) {
        match event {
            HandlerIn::Open { protocol, reply } => self.requested.push_back((protocol, reply)),
            HandlerIn::ProtocolsChanged => {}
        }
    }

    fn on_connection_event(&mut self, event: ConnectionEvent<Protocols, Protocols, (), OpenReply>) {
        match event {
            ConnectionEvent::FullyNegotiatedInbound(FullyNegotiatedInbound {
                protocol: (stream, protocol),
                ..
            }) => {
                // The receiver lives as long as the program.
                let _ = self.inbound.send(self.substream(stream, protocol));
            }
            ConnectionEvent::FullyNegotiatedOutbound(FullyNegotiatedOutbound {
                protocol: (stream, protocol),
                info: reply,
            }) => {
                // The requester may have timed out and gone; the stream is then dropped.
                let _ = reply.send(Ok(self.substream(stream, protocol)));
            }
            ConnectionEvent::DialUpgradeError(DialUpgradeError { info: reply, error }) => {
                let _ = reply.send(Err(error.to_string()));
            }
            _ => {}
        }
    }
}

/// Offers a list of protocols and hands over the stream as it is once one is agreed.
pub struct Protocols(Vec<StreamProtocol>);

impl UpgradeInfo for Protocols {
    type Info = StreamProtocol;
    type InfoIter = std::vec::IntoIter<StreamProtocol>;

    fn protocol_info(&self) -> Self::InfoIter {
        self.0.clone().into_iter()
    }
}

impl InboundUpgrade<Stream> for Protocols {
    type Output = (Stream, StreamProtocol);
    type Error = Infallible;
    type Future = Ready<Result<Self::Output, Infallible>>;

    fn upgrade_inbound(self, stream: Stream, protocol: StreamProtocol) -> Self::Future {
        ready(Ok((stream, protocol)))
    }
}

impl OutboundUpgrade<Stream> for Protocols {
    type Output = (Stream, StreamProtocol);
    type Error = Infallible;
    type Future = Ready<Result<Self::Output, Infallible>>;

    fn upgrade_outbound(self, stream: Stream, protocol: StreamProtocol) -> Self::Future {
        ready(Ok((stream, protocol)))
    }
}
