// Command ferretdb runs FerretDB 1.24 (MongoDB wire protocol on PostgreSQL or SQLite) for local
// development and tests. It wraps the embeddable package because `go install .../cmd/ferretdb`
// from the module proxy panics at start: its build/version/version.txt is generated in FerretDB's
// own repository and is absent from the module, and the check only runs when FerretDB is the main
// module.
//
// The backend is chosen by the flag given: --postgresql-url (the project's default, started by
// scripts/lib/services.ts) or --sqlite-url (EMBEDDED_DB=sqlite; also the default when neither is).
package main

import (
	"context"
	"flag"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen-addr", "127.0.0.1:27017", "TCP address to listen on")
	postgresqlURL := flag.String("postgresql-url", "", "PostgreSQL URL, e.g. postgres://user@127.0.0.1:5432/ferretdb (selects the postgresql handler)")
	sqliteURL := flag.String("sqlite-url", "", "SQLite directory URI, must end with / (selects the sqlite handler; default file:data/)")
	level := flag.String("log-level", "warn", "debug, info, warn or error")
	flag.Parse()

	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*level)); err != nil {
		log.Fatalf("bad --log-level: %v", err)
	}
	var handler slog.Handler = slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl})
	if lvl > slog.LevelDebug {
		handler = quietQueries{handler}
	}
	logger := slog.New(handler)

	config := ferretdb.Config{
		Listener: ferretdb.ListenerConfig{TCP: *listen},
		Logger:   logger,
	}
	switch {
	case *postgresqlURL != "" && *sqliteURL != "":
		log.Fatal("give --postgresql-url or --sqlite-url, not both")
	case *postgresqlURL != "":
		config.Handler = "postgresql"
		config.PostgreSQLURL = *postgresqlURL
	default:
		config.Handler = "sqlite"
		config.SQLiteURL = *sqliteURL
		if config.SQLiteURL == "" {
			config.SQLiteURL = "file:data/"
		}
	}

	f, err := ferretdb.New(&config)
	if err != nil {
		log.Fatal(err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := f.Run(ctx); err != nil {
		log.Fatal(err)
	}
}

// quietQueries drops the records of FerretDB's PostgreSQL driver about failed SQL statements
// ("Query", logged at ERROR): the failure reaches the client as the command's error (a duplicate
// key is an E11000 the service expects), so at any level but debug the line is only noise.
type quietQueries struct{ slog.Handler }

func (h quietQueries) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "Query" {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h quietQueries) WithAttrs(attrs []slog.Attr) slog.Handler {
	return quietQueries{h.Handler.WithAttrs(attrs)}
}

func (h quietQueries) WithGroup(name string) slog.Handler {
	return quietQueries{h.Handler.WithGroup(name)}
}
