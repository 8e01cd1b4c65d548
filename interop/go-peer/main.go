// Command go-peer is the go-libp2p interop peer of tswarm. The TypeScript suite starts it as a child process and
// drives it with JSON lines over stdin/stdout, as interop/PROTOCOL.md specifies; `go-peer transport-interop` runs the
// libp2p/test-plans test-app contract instead.
package main

import (
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"slices"
	"strings"

	ma "github.com/multiformats/go-multiaddr"
)

func main() {
	// Logs belong on stderr; stdout carries JSON lines only.
	log.SetOutput(os.Stderr)
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)

	if len(os.Args) > 1 && os.Args[1] == "transport-interop" {
		if err := runTransportInterop(); err != nil {
			log.Printf("transport-interop: %v", err)
			os.Exit(1)
		}
		return
	}

	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		log.Printf("%v", err)
		os.Exit(2)
	}
	if err := runControl(cfg); err != nil {
		log.Printf("%v", err)
		os.Exit(1)
	}
}

// multiaddrList collects a repeatable --listen flag.
type multiaddrList []ma.Multiaddr

func (l *multiaddrList) String() string {
	parts := make([]string, len(*l))
	for i, a := range *l {
		parts[i] = a.String()
	}
	return strings.Join(parts, ",")
}

func (l *multiaddrList) Set(s string) error {
	a, err := ma.NewMultiaddr(s)
	if err != nil {
		return err
	}
	*l = append(*l, a)
	return nil
}

func parseFlags(args []string) (hostConfig, error) {
	fs := flag.NewFlagSet("go-peer", flag.ContinueOnError)
	var listen multiaddrList
	fs.Var(&listen, "listen", "multiaddr to listen on (repeatable); none: dial only")
	security := fs.String("security", "noise", "security protocols offered on TCP, in order: noise, tls, noise,tls or tls,noise")
	if err := fs.Parse(args); err != nil {
		return hostConfig{}, err
	}
	if fs.NArg() > 0 {
		return hostConfig{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	sec, err := parseSecurity(*security)
	if err != nil {
		return hostConfig{}, err
	}
	return hostConfig{listen: listen, security: sec}, nil
}

func parseSecurity(s string) ([]string, error) {
	var out []string
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		if name != "noise" && name != "tls" {
			return nil, fmt.Errorf("unsupported security %q (want noise or tls)", name)
		}
		if slices.Contains(out, name) {
			return nil, errors.New("security " + name + " given twice")
		}
		out = append(out, name)
	}
	return out, nil
}
