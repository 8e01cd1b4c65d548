package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// redisClient speaks just enough RESP for the transport-interop handshake: RPUSH and BLPOP.
type redisClient struct {
	conn net.Conn
	r    *bufio.Reader
}

// dialRedis connects to addr, retrying until ctx ends: in a test run Redis may come up after this peer.
func dialRedis(ctx context.Context, addr string) (*redisClient, error) {
	var d net.Dialer
	for {
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			return &redisClient{conn: conn, r: bufio.NewReader(conn)}, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("connect to redis at %s: %w", addr, err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (c *redisClient) Close() error { return c.conn.Close() }

// do sends one command and reads its reply, both bounded by ctx's deadline. Replies come back as string (simple or
// bulk), int64, []any, or nil (null bulk or array); an error reply is returned as an error.
func (c *redisClient) do(ctx context.Context, args ...string) (any, error) {
	if dl, ok := ctx.Deadline(); ok {
		_ = c.conn.SetDeadline(dl)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := io.WriteString(c.conn, b.String()); err != nil {
		return nil, err
	}
	return c.readReply()
}

func (c *redisClient) readReply() (any, error) {
	line, err := c.r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return nil, errors.New("redis: empty reply line")
	}
	kind, rest := line[0], line[1:]
	switch kind {
	case '+':
		return rest, nil
	case '-':
		return nil, fmt.Errorf("redis: %s", rest)
	case ':':
		return strconv.ParseInt(rest, 10, 64)
	case '$':
		n, err := strconv.Atoi(rest)
		if err != nil {
			return nil, fmt.Errorf("redis: bad bulk length %q", rest)
		}
		if n < 0 {
			return nil, nil
		}
		buf := make([]byte, n+2) // payload and its CRLF
		if _, err := io.ReadFull(c.r, buf); err != nil {
			return nil, err
		}
		return string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(rest)
		if err != nil {
			return nil, fmt.Errorf("redis: bad array length %q", rest)
		}
		if n < 0 {
			return nil, nil
		}
		items := make([]any, n)
		for i := range items {
			if items[i], err = c.readReply(); err != nil {
				return nil, err
			}
		}
		return items, nil
	default:
		return nil, fmt.Errorf("redis: unexpected reply %q", line)
	}
}

// rpush appends value to the list at key.
func (c *redisClient) rpush(ctx context.Context, key, value string) error {
	reply, err := c.do(ctx, "RPUSH", key, value)
	if err != nil {
		return fmt.Errorf("RPUSH %s: %w", key, err)
	}
	if _, ok := reply.(int64); !ok {
		return fmt.Errorf("RPUSH %s: unexpected reply %v", key, reply)
	}
	return nil
}

// blpop pops the head of the list at key, waiting for one until ctx ends.
func (c *redisClient) blpop(ctx context.Context, key string) (string, error) {
	for {
		// BLPOP takes whole seconds; the connection deadline cuts the last one short if ctx ends sooner.
		wait := 1
		if dl, ok := ctx.Deadline(); ok {
			wait = max(1, int(time.Until(dl).Seconds()))
		}
		reply, err := c.do(ctx, "BLPOP", key, strconv.Itoa(wait))
		if err != nil {
			return "", fmt.Errorf("BLPOP %s: %w", key, err)
		}
		if reply == nil { // Redis' own timeout passed with nothing pushed
			if ctx.Err() != nil {
				return "", fmt.Errorf("BLPOP %s: %w", key, ctx.Err())
			}
			continue
		}
		pair, ok := reply.([]any)
		if !ok || len(pair) != 2 {
			return "", fmt.Errorf("BLPOP %s: unexpected reply %v", key, reply)
		}
		value, ok := pair[1].(string)
		if !ok {
			return "", fmt.Errorf("BLPOP %s: unexpected value %v", key, pair[1])
		}
		return value, nil
	}
}
