package main

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"log"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/protocol"
)

const (
	echoProtocol    = protocol.ID("/echo/1.0.0")
	digestProtocol  = protocol.ID("/interop/digest/1.0.0")
	resetProtocol   = protocol.ID("/interop/reset/1.0.0")
	observeProtocol = protocol.ID("/interop/observe/1.0.0")
	perfProtocol    = protocol.ID("/perf/1.0.0")

	chunkSize = 64 << 10
)

// registerHandlers installs the servers of every test protocol. Identify and ping are the host's own.
func registerHandlers(h host.Host, out *output) {
	h.SetStreamHandler(echoProtocol, handleEcho)
	h.SetStreamHandler(digestProtocol, handleDigest)
	h.SetStreamHandler(resetProtocol, handleReset)
	h.SetStreamHandler(observeProtocol, func(s network.Stream) { handleObserve(s, out) })
	h.SetStreamHandler(perfProtocol, handlePerf)
}

// finish ends a served stream: a clean close (our write side half-closed first) when err is nil, a reset otherwise,
// so the client can tell a server failure from the end of the data.
func finish(s network.Stream, err error) {
	if err != nil {
		log.Printf("%s from %s: %v", s.Protocol(), s.Conn().RemotePeer(), err)
		_ = s.Reset()
		return
	}
	_ = s.Close()
}

// handleEcho writes back every byte as it is read; at EOF it half-closes.
func handleEcho(s network.Stream) {
	_, err := io.CopyBuffer(s, s, make([]byte, chunkSize))
	finish(s, err)
}

// handleDigest answers the SHA-256 of everything read up to EOF.
func handleDigest(s network.Stream) {
	hash := sha256.New()
	_, err := io.Copy(hash, s)
	if err == nil {
		_, err = s.Write(hash.Sum(nil))
	}
	finish(s, err)
}

// handleReset resets the stream as soon as at least one byte arrived.
func handleReset(s network.Stream) {
	if _, err := io.ReadFull(s, make([]byte, 1)); err != nil {
		log.Printf("%s from %s: %v", s.Protocol(), s.Conn().RemotePeer(), err)
	}
	_ = s.Reset()
}

// streamEnd is the unsolicited line /interop/observe/1.0.0 prints when its stream ends.
type streamEnd struct {
	Event    string `json:"event"`
	Protocol string `json:"protocol"`
	Peer     string `json:"peer"`
	Outcome  string `json:"outcome"`
	Bytes    int64  `json:"bytes"`
	Error    string `json:"error,omitempty"`
}

// handleObserve reads until the stream ends and reports how it ended.
func handleObserve(s network.Stream, out *output) {
	n, err := io.Copy(io.Discard, s)
	outcome, msg := streamOutcome(err)
	out.emit(streamEnd{
		Event:    "stream-end",
		Protocol: string(observeProtocol),
		Peer:     s.Conn().RemotePeer().String(),
		Outcome:  outcome,
		Bytes:    n,
		Error:    msg,
	})
	if outcome == "eof" {
		_ = s.Close()
		return
	}
	_ = s.Reset()
}

// streamOutcome classifies the error that ended a read-to-EOF loop (io.Copy, which reports a clean EOF as nil):
// nil is "eof", the stack's stream-reset error "reset", anything else "error" with its message.
func streamOutcome(err error) (outcome, msg string) {
	switch {
	case err == nil:
		return "eof", ""
	case errors.Is(err, network.ErrReset):
		return "reset", ""
	default:
		return "error", err.Error()
	}
}

// handlePerf is the perf spec's server: an 8-byte big-endian count N, the upload until EOF, then N bytes back.
func handlePerf(s network.Stream) {
	var header [8]byte
	if _, err := io.ReadFull(s, header[:]); err != nil {
		finish(s, err)
		return
	}
	if _, err := io.Copy(io.Discard, s); err != nil {
		finish(s, err)
		return
	}
	finish(s, writeZeros(s, binary.BigEndian.Uint64(header[:])))
}

// writeZeros sends n bytes of perf payload; the perf protocol gives the content no meaning.
func writeZeros(w io.Writer, n uint64) error {
	buf := make([]byte, chunkSize)
	for n > 0 {
		k := min(n, uint64(len(buf)))
		if _, err := w.Write(buf[:k]); err != nil {
			return err
		}
		n -= k
	}
	return nil
}
