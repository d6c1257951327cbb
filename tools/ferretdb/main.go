// Command ferretdb is a tiny MongoDB wire-protocol server for Flux API Keys tests.
//
// It embeds FerretDB v1 (github.com/FerretDB/FerretDB/ferretdb) with the pure-Go
// SQLite backend, so no MongoDB, PostgreSQL or cgo is needed. It is started by
// scripts/test-mongo.mjs; it is not meant for production use.
//
// Usage:
//
//	ferretdb -listen 127.0.0.1:0 -dir /tmp/some-dir
//
// Once the TCP listener is bound it prints one line to stdout:
//
//	ready mongodb://127.0.0.1:PORT/
//
// (port 0 picks a free port; the printed URI has the real one). It logs to stderr
// at error level only (-log-level changes that; FerretDB logs every error reply
// at warn) and exits cleanly on SIGINT/SIGTERM.
//
// # Serialized commands
//
// FerretDB v1 applies update operators by reading the document, changing it in Go
// and writing it back, with no lock: concurrent `$inc`s on one document from
// several connections lose updates (measured: 200 concurrent `$inc: {n: 1}` over
// 10 connections left n=12, each reply saying modified: 1), concurrent upserts of
// one new _id fail with E11000, and findAndModify is not atomic.
// MongoDB makes every single-document write atomic, and our code relies on that.
// So by default (-serialize=true) FerretDB listens on a private loopback port and
// the advertised port is a small proxy that forwards each client connection to its
// own FerretDB connection but lets only one command run at a time, server-wide.
// FerretDB answers every request with exactly one reply (it never streams replies
// and ignores moreToCome), so the proxy forwards one request, then one reply.
// A command that blocks (a tailable awaitData getMore, say) blocks all clients.
package main

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "TCP address to listen on (port 0 picks a free port)")
	dir := flag.String("dir", "", "directory for the SQLite databases (created if missing; required)")
	// FerretDB logs every error reply (e.g. each duplicate-key error) at warn level,
	// with a dump of the whole message, so the default is error.
	logLevel := flag.String("log-level", "error", "log level: debug, info, warn or error")
	serialize := flag.Bool("serialize", true, "run one command at a time server-wide (makes single-document writes atomic)")
	flag.Parse()

	if *dir == "" {
		fmt.Fprintln(os.Stderr, "ferretdb: -dir is required")
		os.Exit(2)
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb: bad -log-level %q: %v\n", *logLevel, err)
		os.Exit(2)
	}

	if err := run(*listen, *dir, level, *serialize); err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb: %v\n", err)
		os.Exit(1)
	}
}

func run(listen, dir string, level slog.Level, serialize bool) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if err = os.MkdirAll(abs, 0o755); err != nil {
		return err
	}

	// The SQLite handler wants a "file:" URI naming a directory that ends in "/".
	// Each MongoDB database becomes one SQLite file in that directory.
	sqliteURL := "file:" + filepath.ToSlash(abs)
	if !strings.HasSuffix(sqliteURL, "/") {
		sqliteURL += "/"
	}

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	ferretListen := listen
	var front net.Listener
	if serialize {
		// Bind the advertised address first, so that a bad -listen fails before FerretDB starts.
		if front, err = net.Listen("tcp", listen); err != nil {
			return err
		}
		defer front.Close()
		ferretListen = "127.0.0.1:0"
	}

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: ferretListen},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: sqliteURL,
	})
	if err != nil {
		return err
	}

	// ferretdb.New has already bound its TCP listener (connections wait in the
	// backlog until Run accepts them), so the real address is known here.
	uri := f.MongoDBURI()

	var proxyDone chan struct{}
	if serialize {
		backend := strings.TrimSuffix(strings.TrimPrefix(uri, "mongodb://"), "/")
		uri = "mongodb://" + front.Addr().String() + "/"
		proxyDone = make(chan struct{})
		go func() {
			defer close(proxyDone)
			serveSerialized(ctx, front, backend, logger)
		}()
	}

	go indexIDs(ctx, abs, logger)

	fmt.Printf("ready %s\n", uri)

	// Run returns once ctx is canceled and all connections and the backend are closed.
	err = f.Run(ctx)
	if proxyDone != nil {
		<-proxyDone
	}
	return err
}

// serveSerialized accepts clients on ln and proxies each to its own connection to
// backend, holding one server-wide mutex from sending a request until its reply is read.
// It returns after ctx is canceled and all client connections are closed.
func serveSerialized(ctx context.Context, ln net.Listener, backend string, logger *slog.Logger) {
	var (
		mu      sync.Mutex // serializes commands
		wg      sync.WaitGroup
		connsMu sync.Mutex
		conns   = map[net.Conn]struct{}{}
	)

	track := func(c net.Conn) bool {
		connsMu.Lock()
		defer connsMu.Unlock()
		if ctx.Err() != nil {
			return false
		}
		conns[c] = struct{}{}
		return true
	}
	untrack := func(c net.Conn) {
		connsMu.Lock()
		delete(conns, c)
		connsMu.Unlock()
		c.Close()
	}

	go func() {
		<-ctx.Done()
		ln.Close()
		connsMu.Lock()
		for c := range conns {
			c.Close()
		}
		connsMu.Unlock()
	}()

	for {
		client, err := ln.Accept()
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
				logger.Error("accept failed", "error", err)
			}
			break
		}

		wg.Add(1)
		go func() {
			defer wg.Done()
			if !track(client) {
				client.Close()
				return
			}
			defer untrack(client)

			server, err := net.Dial("tcp", backend)
			if err != nil {
				logger.Error("cannot reach FerretDB", "error", err)
				return
			}
			if !track(server) {
				server.Close()
				return
			}
			defer untrack(server)

			for {
				req, err := readMessage(client)
				if err != nil {
					return // client went away (or sent garbage)
				}

				mu.Lock()
				_, err = server.Write(req)
				var res []byte
				if err == nil {
					res, err = readMessage(server)
				}
				mu.Unlock()

				if err != nil {
					return
				}
				if _, err = client.Write(res); err != nil {
					return
				}
			}
		}()
	}

	wg.Wait()
}

// readMessage reads one MongoDB wire protocol message (header included).
func readMessage(r io.Reader) ([]byte, error) {
	var lenBuf [4]byte
	if _, err := io.ReadFull(r, lenBuf[:]); err != nil {
		return nil, err
	}

	// 16-byte header minimum; FerretDB's maxMessageSizeBytes is 48,000,000.
	n := int(int32(binary.LittleEndian.Uint32(lenBuf[:])))
	if n < 16 || n > 64<<20 {
		return nil, fmt.Errorf("bad message length %d", n)
	}

	msg := make([]byte, n)
	copy(msg, lenBuf[:])
	if _, err := io.ReadFull(r, msg[4:]); err != nil {
		return nil, err
	}
	return msg, nil
}
