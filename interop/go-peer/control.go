package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/p2p/protocol/identify"
)

const defaultTimeout = 30 * time.Second

// output writes whole JSON lines to stdout; the mutex keeps lines from concurrent commands and stream handlers
// from interleaving.
type output struct {
	mu sync.Mutex
	w  io.Writer
}

func (o *output) emit(v any) {
	line, err := json.Marshal(v)
	if err != nil {
		log.Printf("encode %T: %v", v, err)
		return
	}
	o.writeLine(line)
}

func (o *output) writeLine(line []byte) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, err := o.w.Write(append(line, '\n')); err != nil {
		log.Printf("write stdout: %v", err)
	}
}

// answer writes `{"id":…,"ok":true,…fields}` or `{"id":…,"ok":false,"error":…}`. A nil id is written as null.
func (o *output) answer(id json.RawMessage, fields any, err error) {
	if id == nil {
		id = json.RawMessage("null")
	}
	if err != nil {
		o.emit(struct {
			ID    json.RawMessage `json:"id"`
			OK    bool            `json:"ok"`
			Error string          `json:"error"`
		}{id, false, err.Error()})
		return
	}
	head, _ := json.Marshal(struct {
		ID json.RawMessage `json:"id"`
		OK bool            `json:"ok"`
	}{id, true})
	if fields == nil {
		o.writeLine(head)
		return
	}
	body, merr := json.Marshal(fields)
	if merr != nil {
		o.answer(id, nil, fmt.Errorf("encode answer: %w", merr))
		return
	}
	// Splice the command's own fields into the envelope: `{"id":1,"ok":true}` + `{"x":…}` → `{"id":1,"ok":true,"x":…}`.
	if len(body) > 2 {
		head = append(append(head[:len(head)-1], ','), body[1:]...)
	}
	o.writeLine(head)
}

// request is one command line. Fields not used by a command are ignored.
type request struct {
	Cmd          string  `json:"cmd"`
	TimeoutMs    float64 `json:"timeoutMs"`
	Addr         string  `json:"addr"`
	Peer         string  `json:"peer"`
	Count        int     `json:"count"`
	Bytes        int64   `json:"bytes"`
	Streams      int     `json:"streams"`
	Upload       int64   `json:"upload"`
	Download     int64   `json:"download"`
	Protocol     string  `json:"protocol"`
	WaitProtocol string  `json:"waitProtocol"`
}

// node is the running peer the commands act on.
type node struct {
	h      host.Host
	idsvc  identify.IDService
	idents *identifyStore
	out    *output
}

// readyLine is printed once the node listens.
type readyLine struct {
	Event           string   `json:"event"`
	PeerID          string   `json:"peerId"`
	Addrs           []string `json:"addrs"`
	AgentVersion    string   `json:"agentVersion"`
	ProtocolVersion string   `json:"protocolVersion"`
	Protocols       []string `json:"protocols"`
	Implementation  string   `json:"implementation"`
	Version         string   `json:"version"`
}

// runControl runs the stdin/stdout control protocol until quit or end of input.
func runControl(cfg hostConfig) error {
	h, err := newHost(cfg)
	if err != nil {
		return err
	}
	idsvc, err := idService(h)
	if err != nil {
		h.Close()
		return err
	}
	idents, err := newIdentifyStore(h)
	if err != nil {
		h.Close()
		return err
	}
	n := &node{h: h, idsvc: idsvc, idents: idents, out: &output{w: os.Stdout}}
	registerHandlers(h, n.out)

	addrs := []string{}
	for _, a := range h.Network().ListenAddresses() {
		addrs = append(addrs, a.String())
	}
	n.out.emit(readyLine{
		Event:           "ready",
		PeerID:          h.ID().String(),
		Addrs:           addrs,
		AgentVersion:    agentVersion,
		ProtocolVersion: protocolVersion,
		Protocols:       sortedProtocols(h.Mux().Protocols()),
		Implementation:  implementation,
		Version:         libp2pVersion,
	})

	in := bufio.NewReader(os.Stdin)
	for {
		line, rerr := in.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			if n.dispatch(line) {
				return nil
			}
		}
		if rerr != nil {
			if !errors.Is(rerr, io.EOF) {
				log.Printf("read stdin: %v", rerr)
			}
			return n.h.Close()
		}
	}
}

// dispatch parses one line and starts its command; it reports true once quit has been answered.
func (n *node) dispatch(line []byte) (quit bool) {
	var envelope struct {
		ID json.RawMessage `json:"id"`
	}
	if err := json.Unmarshal(line, &envelope); err != nil {
		n.out.answer(nil, nil, fmt.Errorf("malformed line: %v", err))
		return false
	}
	id := envelope.ID
	if !isJSONNumber(id) {
		n.out.answer(nil, nil, errors.New("malformed line: missing numeric id"))
		return false
	}
	var req request
	if err := json.Unmarshal(line, &req); err != nil {
		n.out.answer(id, nil, fmt.Errorf("bad arguments: %v", err))
		return false
	}
	if req.Cmd == "quit" {
		err := n.h.Close()
		n.out.answer(id, nil, err)
		return true
	}
	run, ok := commands[req.Cmd]
	if !ok {
		n.out.answer(id, nil, fmt.Errorf("unknown cmd %q", req.Cmd))
		return false
	}
	go n.run(id, req, run)
	return false
}

func isJSONNumber(raw json.RawMessage) bool {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return false
	}
	_, ok := v.(float64)
	return ok
}

// run executes one command under its timeout. The answer is written when the command returns or the timeout fires,
// whichever is first, so a command stuck in the stack still gets its bounded answer.
func (n *node) run(id json.RawMessage, req request, cmd commandFunc) {
	timeout := defaultTimeout
	if req.TimeoutMs > 0 {
		timeout = time.Duration(req.TimeoutMs * float64(time.Millisecond))
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	type result struct {
		fields any
		err    error
	}
	done := make(chan result, 1)
	go func() {
		fields, err := cmd(ctx, n, req)
		done <- result{fields, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		r.err = ctx.Err()
	}
	if r.err != nil && isTimeout(r.err) {
		r.err = fmt.Errorf("timeout after %v: %s: %v", timeout, req.Cmd, r.err)
	}
	n.out.answer(id, r.fields, r.err)
}

// isTimeout tells whether err comes from the command's deadline, either through the context or through the stream
// deadline derived from it.
func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
