package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"
)

// commandFunc runs one command; the fields it returns are spliced into the answer.
type commandFunc func(ctx context.Context, n *node, req request) (any, error)

// commands maps every `cmd` of PROTOCOL.md except quit, which the dispatcher handles itself.
var commands = map[string]commandFunc{
	"connect":     cmdConnect,
	"ping":        cmdPing,
	"identify":    cmdIdentify,
	"echo":        cmdEcho,
	"echoMany":    cmdEchoMany,
	"digest":      cmdDigest,
	"awaitReset":  cmdAwaitReset,
	"sendReset":   cmdSendReset,
	"perf":        cmdPerf,
	"handle":      cmdHandle,
	"connections": cmdConnections,
	"disconnect":  cmdDisconnect,
}

// sendResetGrace is how long sendReset lets its 1 KiB travel before resetting. Neither Yamux nor QUIC streams in
// go-libp2p report when written data has left (QUIC drops unsent data on reset), and loopback delivers far faster.
const sendResetGrace = 100 * time.Millisecond

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func parsePeer(s string) (peer.ID, error) {
	if s == "" {
		return "", errors.New("missing peer")
	}
	p, err := peer.Decode(s)
	if err != nil {
		return "", fmt.Errorf("bad peer %q: %w", s, err)
	}
	return p, nil
}

func checkSize(name string, v int64) error {
	if v < 0 {
		return fmt.Errorf("%s must not be negative", name)
	}
	return nil
}

// openStream opens a stream and bounds every read and write on it by the command's deadline.
func openStream(ctx context.Context, h host.Host, p peer.ID, proto protocol.ID) (network.Stream, error) {
	s, err := h.NewStream(ctx, p, proto)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", proto, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = s.SetDeadline(dl)
	}
	return s, nil
}

// writeRandom writes n random bytes to w, feeding them to sum as well.
func writeRandom(w io.Writer, n int64, sum hash.Hash) (int64, error) {
	buf := make([]byte, min(n, chunkSize))
	var sent int64
	for sent < n {
		chunk := buf[:min(n-sent, int64(len(buf)))]
		_, _ = rand.Read(chunk) // crypto/rand.Read never fails
		sum.Write(chunk)
		k, err := w.Write(chunk)
		sent += int64(k)
		if err != nil {
			return sent, err
		}
	}
	return sent, nil
}

type connectAnswer struct {
	Peer       string  `json:"peer"`
	Ms         float64 `json:"ms"`
	RemoteAddr string  `json:"remoteAddr"`
	LocalAddr  string  `json:"localAddr"`
}

func cmdConnect(ctx context.Context, n *node, req request) (any, error) {
	info, err := peer.AddrInfoFromString(req.Addr)
	if err != nil {
		return nil, fmt.Errorf("bad addr %q: %w", req.Addr, err)
	}
	if len(info.Addrs) == 0 {
		return nil, fmt.Errorf("addr %q has no transport address", req.Addr)
	}
	start := time.Now()
	conn, err := n.dial(ctx, *info)
	if err != nil {
		return nil, err
	}
	elapsed := time.Since(start)
	select {
	case <-n.idsvc.IdentifyWait(conn):
	case <-ctx.Done():
		return nil, fmt.Errorf("identify of %s: %w", info.ID, ctx.Err())
	}
	return connectAnswer{
		Peer:       info.ID.String(),
		Ms:         millis(elapsed),
		RemoteAddr: conn.RemoteMultiaddr().String(),
		LocalAddr:  conn.LocalMultiaddr().String(),
	}, nil
}

// dial connects to info over the address it names. go-libp2p keeps one connection per peer where it can: when one is
// open already, the swarm hands it back whatever address it runs over, so one on the asked address is preferred.
func (n *node) dial(ctx context.Context, info peer.AddrInfo) (network.Conn, error) {
	for _, c := range n.h.Network().ConnsToPeer(info.ID) {
		if !c.IsClosed() && c.RemoteMultiaddr().Equal(info.Addrs[0]) {
			return c, nil
		}
	}
	// The swarm dials every address it knows for the peer in its own order (QUIC first), and identify has taught it
	// all the peer's listen addresses; keep only the ones asked for, so connecting to a TCP address dials TCP.
	ps := n.h.Peerstore()
	ps.ClearAddrs(info.ID)
	ps.AddAddrs(info.ID, info.Addrs, peerstore.TempAddrTTL)
	// A forced direct dial skips the backoff that an earlier failed dial to the peer left behind.
	conn, err := n.h.Network().DialPeer(network.WithForceDirectDial(ctx, "connect command"), info.ID)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", info.ID, err)
	}
	return conn, nil
}

type pingAnswer struct {
	RttMs []float64 `json:"rttMs"`
}

func cmdPing(ctx context.Context, n *node, req request) (any, error) {
	p, err := parsePeer(req.Peer)
	if err != nil {
		return nil, err
	}
	count := req.Count
	if count == 0 {
		count = 1
	}
	if count < 0 {
		return nil, errors.New("count must be positive")
	}
	// ping.Ping pings until its context ends; cancel it once count answers are in.
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := ping.Ping(pctx, n.h, p)
	rtts := make([]float64, 0, count)
	for len(rtts) < count {
		select {
		case r, ok := <-results:
			if !ok {
				return nil, fmt.Errorf("ping %s: stopped after %d answers: %w", p, len(rtts), ctx.Err())
			}
			if r.Error != nil {
				return nil, fmt.Errorf("ping %s: %w", p, r.Error)
			}
			rtts = append(rtts, millis(r.RTT))
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return pingAnswer{RttMs: rtts}, nil
}

type signedRecordAnswer struct {
	Verified bool     `json:"verified"`
	Seq      uint64   `json:"seq"`
	Addrs    []string `json:"addrs"`
}

type identifyAnswer struct {
	Protocols        []string            `json:"protocols"`
	AgentVersion     string              `json:"agentVersion"`
	ProtocolVersion  string              `json:"protocolVersion"`
	ListenAddrs      []string            `json:"listenAddrs"`
	ObservedAddr     *string             `json:"observedAddr"`
	SignedPeerRecord *signedRecordAnswer `json:"signedPeerRecord"`
}

func cmdIdentify(ctx context.Context, n *node, req request) (any, error) {
	p, err := parsePeer(req.Peer)
	if err != nil {
		return nil, err
	}
	// Identify runs on every new connection; wait for the runs still under way, then for their events to be applied.
	for _, c := range n.h.Network().ConnsToPeer(p) {
		select {
		case <-n.idsvc.IdentifyWait(c):
		case <-ctx.Done():
			return nil, fmt.Errorf("identify of %s: %w", p, ctx.Err())
		}
	}
	if req.WaitProtocol != "" {
		if err := n.waitProtocol(ctx, p, protocol.ID(req.WaitProtocol)); err != nil {
			return nil, err
		}
	}
	if err := n.idents.sync(ctx); err != nil {
		return nil, err
	}
	info, ok := n.idents.snapshot(p)
	if !ok {
		return nil, fmt.Errorf("identify has told nothing about %s", p)
	}
	// The peerstore holds the protocol list identify set last, pushes included.
	protos, err := n.h.Peerstore().GetProtocols(p)
	if err != nil {
		return nil, err
	}
	ans := identifyAnswer{
		Protocols:       sortedProtocols(protos),
		AgentVersion:    info.agentVersion,
		ProtocolVersion: info.protocolVersion,
		ListenAddrs:     []string{},
	}
	for _, a := range info.listenAddrs {
		ans.ListenAddrs = append(ans.ListenAddrs, a.String())
	}
	if info.observedAddr != nil {
		s := info.observedAddr.String()
		ans.ObservedAddr = &s
	}
	if rec := info.record; rec != nil {
		sr := &signedRecordAnswer{Verified: true, Seq: rec.Seq, Addrs: []string{}}
		for _, a := range rec.Addrs {
			sr.Addrs = append(sr.Addrs, a.String())
		}
		ans.SignedPeerRecord = sr
	}
	return ans, nil
}

// waitProtocol waits until the peerstore lists proto for p, re-checking after every identify event.
func (n *node) waitProtocol(ctx context.Context, p peer.ID, proto protocol.ID) error {
	for {
		changed := n.idents.changes()
		supported, err := n.h.Peerstore().SupportsProtocols(p, proto)
		if err != nil {
			return err
		}
		if len(supported) > 0 {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s to list %s: %w", p, proto, ctx.Err())
		}
	}
}

type echoAnswer struct {
	Sent           int64   `json:"sent"`
	Received       int64   `json:"received"`
	SentSha256     string  `json:"sentSha256"`
	ReceivedSha256 string  `json:"receivedSha256"`
	Ms             float64 `json:"ms"`
}

func (a echoAnswer) intact(size int64) bool {
	return a.Sent == size && a.Received == size && a.SentSha256 == a.ReceivedSha256
}

func cmdEcho(ctx context.Context, n *node, req request) (any, error) {
	p, err := parsePeer(req.Peer)
	if err != nil {
		return nil, err
	}
	if err := checkSize("bytes", req.Bytes); err != nil {
		return nil, err
	}
	return echoOnce(ctx, n.h, p, req.Bytes)
}

// echoOnce writes size random bytes on a fresh /echo/1.0.0 stream while reading the echo, half-closes, and reads
// to EOF.
func echoOnce(ctx context.Context, h host.Host, p peer.ID, size int64) (echoAnswer, error) {
	start := time.Now()
	s, err := openStream(ctx, h, p, echoProtocol)
	if err != nil {
		return echoAnswer{}, err
	}
	sentSum := sha256.New()
	var sent int64
	writeDone := make(chan error, 1)
	go func() {
		var err error
		sent, err = writeRandom(s, size, sentSum)
		if err == nil {
			err = s.CloseWrite()
		}
		writeDone <- err
	}()
	recvSum := sha256.New()
	received, rerr := io.CopyBuffer(recvSum, s, make([]byte, min(max(size, 1), chunkSize)))
	if rerr != nil {
		_ = s.Reset()
		<-writeDone
		return echoAnswer{}, fmt.Errorf("read echo: %w", rerr)
	}
	if werr := <-writeDone; werr != nil {
		_ = s.Reset()
		return echoAnswer{}, fmt.Errorf("write echo: %w", werr)
	}
	_ = s.Close()
	return echoAnswer{
		Sent:           sent,
		Received:       received,
		SentSha256:     hex.EncodeToString(sentSum.Sum(nil)),
		ReceivedSha256: hex.EncodeToString(recvSum.Sum(nil)),
		Ms:             millis(time.Since(start)),
	}, nil
}

type echoManyAnswer struct {
	Streams   int      `json:"streams"`
	OkStreams int      `json:"okStreams"`
	Errors    []string `json:"errors"`
}

const maxReportedErrors = 5

func cmdEchoMany(ctx context.Context, n *node, req request) (any, error) {
	p, err := parsePeer(req.Peer)
	if err != nil {
		return nil, err
	}
	if err := checkSize("bytes", req.Bytes); err != nil {
		return nil, err
	}
	if req.Streams < 0 {
		return nil, errors.New("streams must not be negative")
	}
	ans := echoManyAnswer{Streams: req.Streams, Errors: []string{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range req.Streams {
		wg.Go(func() {
			res, err := echoOnce(ctx, n.h, p, req.Bytes)
			if err == nil && !res.intact(req.Bytes) {
				err = fmt.Errorf("echoed %d of %d bytes (sha256 %s, sent %s)", res.Received, req.Bytes, res.ReceivedSha256, res.SentSha256)
			}
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ans.OkStreams++
			case len(ans.Errors) < maxReportedErrors:
				ans.Errors = append(ans.Errors, fmt.Sprintf("stream %d: %v", i, err))
			}
		})
	}
	wg.Wait()
	return ans, nil
}

type digestAnswer struct {
	SentSha256     string `json:"sentSha256"`
	ReceivedSha256 string `json:"receivedSha256"`
}

func cmdDigest(ctx context.Context, n *node, req request) (any, error) {
	p, err := parsePeer(req.Peer)
	if err != nil {
		return nil, err
	}
	if err := checkSize("bytes", req.Bytes); err != nil {
		return nil, err
	}
	s, err := openStream(ctx, n.h, p, digestProtocol)
	if err != nil {
		return nil, err
	}
	sentSum := sha256.New()
	if _, err := writeRandom(s, req.Bytes, sentSum); err != nil {
		_ = s.Reset()
		return nil, fmt.Errorf("write: %w", err)
	}
	if err := s.CloseWrite(); err != nil {
		_ = s.Reset()
		return nil, fmt.Errorf("close write: %w", err)
	}
	got, err := io.ReadAll(s)
	if err != nil {
		_ = s.Reset()
		return nil, fmt.Errorf("read digest: %w", err)
	}
	_ = s.Close()
	return digestAnswer{
		SentSha256:     hex.EncodeToString(sentSum.Sum(nil)),
		ReceivedSha256: hex.EncodeToString(got),
	}, nil
}

type awaitResetAnswer struct {
	Outcome string `json:"outcome"`
	Error   string `json:"error,omitempty"`
}

func cmdAwaitReset(ctx context.Context, n *node, req request) (any, error) {
	p, err := parsePeer(req.Peer)
	if err != nil {
		return nil, err
	}
	s, err := openStream(ctx, n.h, p, resetProtocol)
	if err != nil {
		return nil, err
	}
	defer s.Reset()
	if _, err := s.Write([]byte{1}); err != nil {
		return nil, fmt.Errorf("write: %w", err)
	}
	_, err = io.Copy(io.Discard, s)
	if err != nil && isTimeout(err) {
		return nil, err
	}
	outcome, msg := streamOutcome(err)
	return awaitResetAnswer{Outcome: outcome, Error: msg}, nil
}

func cmdSendReset(ctx context.Context, n *node, req request) (any, error) {
	p, err := parsePeer(req.Peer)
	if err != nil {
		return nil, err
	}
	s, err := openStream(ctx, n.h, p, observeProtocol)
	if err != nil {
		return nil, err
	}
	if _, err := writeRandom(s, 1024, sha256.New()); err != nil {
		_ = s.Reset()
		return nil, fmt.Errorf("write: %w", err)
	}
	select {
	case <-time.After(sendResetGrace):
	case <-ctx.Done(): // the caller answers the timeout; the reset still goes out
	}
	return nil, s.Reset()
}

type perfAnswer struct {
	Uploaded   int64   `json:"uploaded"`
	Downloaded int64   `json:"downloaded"`
	Ms         float64 `json:"ms"`
}

// cmdPerf is the perf spec's client: the byte count wanted back, the upload, a half-close, then the download to EOF.
func cmdPerf(ctx context.Context, n *node, req request) (any, error) {
	p, err := parsePeer(req.Peer)
	if err != nil {
		return nil, err
	}
	if err := checkSize("upload", req.Upload); err != nil {
		return nil, err
	}
	if err := checkSize("download", req.Download); err != nil {
		return nil, err
	}
	start := time.Now()
	s, err := openStream(ctx, n.h, p, perfProtocol)
	if err != nil {
		return nil, err
	}
	var header [8]byte
	binary.BigEndian.PutUint64(header[:], uint64(req.Download))
	if _, err := s.Write(header[:]); err != nil {
		_ = s.Reset()
		return nil, fmt.Errorf("write header: %w", err)
	}
	if err := writeZeros(s, uint64(req.Upload)); err != nil {
		_ = s.Reset()
		return nil, fmt.Errorf("upload: %w", err)
	}
	if err := s.CloseWrite(); err != nil {
		_ = s.Reset()
		return nil, fmt.Errorf("close write: %w", err)
	}
	downloaded, err := io.Copy(io.Discard, s)
	if err != nil {
		_ = s.Reset()
		return nil, fmt.Errorf("download: %w", err)
	}
	_ = s.Close()
	return perfAnswer{Uploaded: req.Upload, Downloaded: downloaded, Ms: millis(time.Since(start))}, nil
}

func cmdHandle(_ context.Context, n *node, req request) (any, error) {
	if req.Protocol == "" {
		return nil, errors.New("missing protocol")
	}
	// Registering a handler makes the host announce it; identify then pushes the new list to connected peers.
	n.h.SetStreamHandler(protocol.ID(req.Protocol), handleEcho)
	return nil, nil
}

type connectionInfo struct {
	RemoteAddr string `json:"remoteAddr"`
	LocalAddr  string `json:"localAddr"`
	Direction  string `json:"direction,omitempty"`
	Security   string `json:"security,omitempty"`
	Muxer      string `json:"muxer,omitempty"`
	Transport  string `json:"transport,omitempty"`
}

type connectionsAnswer struct {
	Connections []connectionInfo `json:"connections"`
}

// directionName renders a connection direction as PROTOCOL.md spells it.
func directionName(d network.Direction) string {
	switch d {
	case network.DirInbound:
		return "inbound"
	case network.DirOutbound:
		return "outbound"
	default:
		return ""
	}
}

func cmdConnections(_ context.Context, n *node, req request) (any, error) {
	p, err := parsePeer(req.Peer)
	if err != nil {
		return nil, err
	}
	ans := connectionsAnswer{Connections: []connectionInfo{}}
	for _, c := range n.h.Network().ConnsToPeer(p) {
		// QUIC secures and multiplexes by itself, so go-libp2p names no security or muxer protocol for it.
		st := c.ConnState()
		ans.Connections = append(ans.Connections, connectionInfo{
			RemoteAddr: c.RemoteMultiaddr().String(),
			LocalAddr:  c.LocalMultiaddr().String(),
			Direction:  directionName(c.Stat().Direction),
			Security:   string(st.Security),
			Muxer:      string(st.StreamMultiplexer),
			Transport:  st.Transport,
		})
	}
	return ans, nil
}

func cmdDisconnect(_ context.Context, n *node, req request) (any, error) {
	p, err := parsePeer(req.Peer)
	if err != nil {
		return nil, err
	}
	return nil, n.h.Network().ClosePeer(p)
}
