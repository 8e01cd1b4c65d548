package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/host/eventbus"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/protocol/identify"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	libp2ptls "github.com/libp2p/go-libp2p/p2p/security/tls"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
)

const (
	implementation  = "go-libp2p"
	libp2pModule    = "github.com/libp2p/go-libp2p"
	protocolVersion = "ipfs/0.1.0"
)

// libp2pVersion is the go-libp2p version linked into this binary, read from the build info so that it cannot drift
// from go.mod.
var libp2pVersion = func() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range bi.Deps {
			if dep.Path == libp2pModule {
				return dep.Version
			}
		}
	}
	return "unknown"
}()

// agentVersion is what identify announces; set explicitly so the ready line can state it.
var agentVersion = "tswarm-interop-go-peer go-libp2p/" + libp2pVersion

// hostConfig is what the command line (or the transport-interop environment) decides about the node.
type hostConfig struct {
	listen   []ma.Multiaddr
	security []string // "noise" and/or "tls", in order of preference
}

// newHost builds a go-libp2p host with exactly the stack PROTOCOL.md asks for: TCP and QUIC-v1, the given security
// protocols on TCP, Yamux, and a fresh Ed25519 identity.
func newHost(cfg hostConfig) (host.Host, error) {
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	opts := []libp2p.Option{
		libp2p.Identity(key),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Transport(quic.NewTransport),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		// The suite opens 100 concurrent streams from one peer and moves 64 MiB through perf; the default limits are
		// sized for a public node, and limits are not what this test peer is here to exercise.
		libp2p.ResourceManager(&network.NullResourceManager{}),
		// Only the transports above: no circuit relay transport, and no Prometheus registry in a short-lived peer.
		libp2p.DisableRelay(),
		libp2p.DisableMetrics(),
		libp2p.UserAgent(agentVersion),
		libp2p.ProtocolVersion(protocolVersion),
	}
	for _, s := range cfg.security {
		switch s {
		case "noise":
			opts = append(opts, libp2p.Security(noise.ID, noise.New))
		case "tls":
			opts = append(opts, libp2p.Security(libp2ptls.ID, libp2ptls.New))
		default:
			return nil, fmt.Errorf("unsupported security %q", s)
		}
	}
	if len(cfg.listen) == 0 {
		opts = append(opts, libp2p.NoListenAddrs)
	} else {
		opts = append(opts, libp2p.ListenAddrs(cfg.listen...))
	}
	return libp2p.New(opts...)
}

// idService returns the host's identify service; the basic host that libp2p.New builds always runs one.
func idService(h host.Host) (identify.IDService, error) {
	withID, ok := h.(interface{ IDService() identify.IDService })
	if !ok {
		return nil, fmt.Errorf("host %T has no identify service", h)
	}
	return withID.IDService(), nil
}

// sortedProtocols returns ids as sorted strings, so answers do not depend on map order.
func sortedProtocols(ids []protocol.ID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = string(id)
	}
	slices.Sort(out)
	return out
}

// identifyInfo is what identify told us about one peer, merged over the initial exchange and every push.
type identifyInfo struct {
	agentVersion    string
	protocolVersion string
	listenAddrs     []ma.Multiaddr
	observedAddr    ma.Multiaddr
	record          *peer.PeerRecord // only records identify verified against the peer's key
}

// identifyStore keeps the newest identify information per peer. It is fed by one goroutine reading the event bus.
type identifyStore struct {
	mu      sync.Mutex
	byPeer  map[peer.ID]*identifyInfo
	changed chan struct{} // closed (and replaced) whenever an event has been applied

	barrier event.Emitter
}

// identifyBarrier travels through the same subscription as the identify events; when the store sees it, every
// identify event emitted before it has been applied.
type identifyBarrier struct{ done chan struct{} }

func newIdentifyStore(h host.Host) (*identifyStore, error) {
	bus := h.EventBus()
	sub, err := bus.Subscribe([]any{new(event.EvtPeerIdentificationCompleted), new(identifyBarrier)}, eventbus.BufSize(256))
	if err != nil {
		return nil, err
	}
	barrier, err := bus.Emitter(new(identifyBarrier))
	if err != nil {
		sub.Close()
		return nil, err
	}
	s := &identifyStore{byPeer: map[peer.ID]*identifyInfo{}, changed: make(chan struct{}), barrier: barrier}
	go func() {
		for ev := range sub.Out() {
			switch ev := ev.(type) {
			case event.EvtPeerIdentificationCompleted:
				s.apply(ev)
			case identifyBarrier:
				close(ev.done)
			}
		}
	}()
	return s, nil
}

func (s *identifyStore) apply(ev event.EvtPeerIdentificationCompleted) {
	s.mu.Lock()
	defer s.mu.Unlock()
	info := s.byPeer[ev.Peer]
	if info == nil {
		info = &identifyInfo{}
		s.byPeer[ev.Peer] = info
	}
	// A push may carry only the fields that changed, so a field the newest message leaves empty keeps its value.
	if ev.AgentVersion != "" {
		info.agentVersion = ev.AgentVersion
	}
	if ev.ProtocolVersion != "" {
		info.protocolVersion = ev.ProtocolVersion
	}
	if len(ev.ListenAddrs) > 0 {
		info.listenAddrs = slices.Clone(ev.ListenAddrs)
	}
	if ev.ObservedAddr != nil {
		info.observedAddr = ev.ObservedAddr
	}
	// Identify drops the envelope from the event unless its signature checked out and it names the sending peer.
	if ev.SignedPeerRecord != nil {
		if r, err := ev.SignedPeerRecord.Record(); err == nil {
			if rec, ok := r.(*peer.PeerRecord); ok && rec.PeerID == ev.Peer {
				info.record = rec
			}
		}
	}
	close(s.changed)
	s.changed = make(chan struct{})
}

// changes returns a channel that is closed after the next identify event has been applied.
func (s *identifyStore) changes() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// sync waits until every identify event emitted so far has been applied.
func (s *identifyStore) sync(ctx context.Context) error {
	b := identifyBarrier{done: make(chan struct{})}
	if err := s.barrier.Emit(b); err != nil {
		return err
	}
	select {
	case <-b.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// snapshot copies what is known about p; ok is false when identify never completed with p.
func (s *identifyStore) snapshot(p peer.ID) (info identifyInfo, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.byPeer[p]
	if cur == nil {
		return identifyInfo{}, false
	}
	return *cur, true
}
