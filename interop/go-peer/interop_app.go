package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
)

// interopConfig is the test-app contract's environment (libp2p/test-plans transport-interop and
// libp2p/unified-testing).
type interopConfig struct {
	transport string
	security  string
	muxer     string
	isDialer  bool
	ip        string
	redisAddr string
	timeout   time.Duration
	redisKey  string
}

// envOr returns the first of the named variables that is set and non-empty, else def. Callers list the uppercase
// (unified-testing) name first, since it wins over the lowercase (test-plans) one.
func envOr(def string, names ...string) string {
	for _, name := range names {
		if v := os.Getenv(name); v != "" {
			return v
		}
	}
	return def
}

func loadInteropConfig() (interopConfig, error) {
	cfg := interopConfig{
		transport: envOr("", "TRANSPORT", "transport"),
		security:  envOr("", "SECURE_CHANNEL", "security"),
		muxer:     envOr("", "MUXER", "muxer"),
		ip:        envOr("0.0.0.0", "LISTENER_IP", "ip"),
		redisAddr: envOr("redis:6379", "REDIS_ADDR", "redis_addr"),
		redisKey:  "listenerAddr",
	}
	if key := os.Getenv("TEST_KEY"); key != "" {
		cfg.redisKey = key + "_listener_multiaddr"
	}
	switch dialer := envOr("", "IS_DIALER", "is_dialer"); dialer {
	case "true":
		cfg.isDialer = true
	case "false":
	default:
		return cfg, fmt.Errorf("is_dialer must be true or false, got %q", dialer)
	}
	secs, err := strconv.ParseFloat(envOr("180", "test_timeout_seconds"), 64)
	if err != nil || secs <= 0 {
		return cfg, fmt.Errorf("bad test_timeout_seconds %q", os.Getenv("test_timeout_seconds"))
	}
	cfg.timeout = time.Duration(secs * float64(time.Second))
	if net.ParseIP(cfg.ip) == nil {
		return cfg, fmt.Errorf("listener ip %q is not an IP address", cfg.ip)
	}
	return cfg, nil
}

// hostConfig turns the contract's combination into the node configuration, refusing what this peer cannot run.
func (c interopConfig) hostConfig() (hostConfig, error) {
	ipProto := "ip4"
	if net.ParseIP(c.ip).To4() == nil {
		ipProto = "ip6"
	}
	var listen string
	switch c.transport {
	case "tcp":
		if c.security != "noise" && c.security != "tls" {
			return hostConfig{}, fmt.Errorf("unsupported combination: transport=tcp security=%q (go-peer offers noise and tls)", c.security)
		}
		if c.muxer != "yamux" {
			return hostConfig{}, fmt.Errorf("unsupported combination: transport=tcp muxer=%q (go-peer offers yamux)", c.muxer)
		}
		listen = fmt.Sprintf("/%s/%s/tcp/0", ipProto, c.ip)
	case "quic-v1":
		// QUIC brings its own TLS and streams; security and muxer do not apply.
		listen = fmt.Sprintf("/%s/%s/udp/0/quic-v1", ipProto, c.ip)
	case "":
		return hostConfig{}, errors.New("transport is required")
	default:
		return hostConfig{}, fmt.Errorf("unsupported combination: transport=%q (go-peer offers tcp and quic-v1)", c.transport)
	}
	hc := hostConfig{security: []string{"noise"}}
	if c.security != "" {
		hc.security = []string{c.security}
	}
	if !c.isDialer {
		addr, err := ma.NewMultiaddr(listen)
		if err != nil {
			return hostConfig{}, err
		}
		hc.listen = []ma.Multiaddr{addr}
	}
	return hc, nil
}

func runTransportInterop() error {
	cfg, err := loadInteropConfig()
	if err != nil {
		return err
	}
	hc, err := cfg.hostConfig()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.timeout)
	defer cancel()

	h, err := newHost(hc)
	if err != nil {
		return err
	}
	defer h.Close()

	redis, err := dialRedis(ctx, cfg.redisAddr)
	if err != nil {
		return err
	}
	defer redis.Close()

	if cfg.isDialer {
		return runInteropDialer(ctx, h, redis, cfg.redisKey)
	}
	return runInteropListener(ctx, h, redis, cfg.redisKey)
}

// runInteropListener publishes its address and serves until it is killed or the test timeout passes.
func runInteropListener(ctx context.Context, h host.Host, redis *redisClient, key string) error {
	addr, err := publicListenAddr(h)
	if err != nil {
		return err
	}
	full := addr.Encapsulate(ma.StringCast("/p2p/" + h.ID().String()))
	if err := redis.rpush(ctx, key, full.String()); err != nil {
		return err
	}
	log.Printf("listening on %s", full)

	sigCtx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-sigCtx.Done()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return errors.New("test timeout reached before the listener was stopped")
	}
	return nil
}

// publicListenAddr is the address a dialer should use: with an unspecified listen IP (the default 0.0.0.0) it is
// the first non-loopback interface address, as other containers cannot reach our loopback.
func publicListenAddr(h host.Host) (ma.Multiaddr, error) {
	addrs, err := h.Network().InterfaceListenAddresses()
	if err != nil {
		return nil, err
	}
	if len(addrs) == 0 {
		return nil, errors.New("no listen address")
	}
	for _, a := range addrs {
		if !manet.IsIPLoopback(a) {
			return a, nil
		}
	}
	return addrs[0], nil
}

// interopResult is the dialer's one line on stdout; the contract spells the second key with three l's.
type interopResult struct {
	HandshakePlusOneRTTMillis float64 `json:"handshakePlusOneRTTMillis"`
	PingRTTMillis             float64 `json:"pingRTTMilllis"`
}

// runInteropDialer takes the listener's address from Redis, then times connect plus one ping.
func runInteropDialer(ctx context.Context, h host.Host, redis *redisClient, key string) error {
	addr, err := redis.blpop(ctx, key)
	if err != nil {
		return err
	}
	info, err := peer.AddrInfoFromString(addr)
	if err != nil {
		return fmt.Errorf("listener address %q: %w", addr, err)
	}

	start := time.Now()
	if err := h.Connect(ctx, *info); err != nil {
		return fmt.Errorf("connect to %s: %w", addr, err)
	}
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The results channel closes when ctx ends, so this receive is bounded by the test timeout.
	res, ok := <-ping.Ping(pctx, h, info.ID)
	if !ok {
		return fmt.Errorf("ping %s: %w", info.ID, ctx.Err())
	}
	if res.Error != nil {
		return fmt.Errorf("ping %s: %w", info.ID, res.Error)
	}
	elapsed := time.Since(start)

	line, err := json.Marshal(interopResult{
		HandshakePlusOneRTTMillis: millis(elapsed),
		PingRTTMillis:             millis(res.RTT),
	})
	if err != nil {
		return err
	}
	_, err = fmt.Println(string(line))
	return err
}
