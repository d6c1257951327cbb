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
// at warn level only (-log-level changes that) and exits cleanly on SIGINT/SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "TCP address to listen on (port 0 picks a free port)")
	dir := flag.String("dir", "", "directory for the SQLite databases (created if missing; required)")
	logLevel := flag.String("log-level", "warn", "log level: debug, info, warn or error")
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

	if err := run(*listen, *dir, level); err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb: %v\n", err)
		os.Exit(1)
	}
}

func run(listen, dir string, level slog.Level) error {
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

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: listen},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: sqliteURL,
	})
	if err != nil {
		return err
	}

	// ferretdb.New has already bound the TCP listener (connections queue in the
	// backlog until Run accepts them), so the real address is known here.
	fmt.Printf("ready %s\n", f.MongoDBURI())

	// Run returns once ctx is canceled and all connections and the backend are closed.
	return f.Run(ctx)
}
