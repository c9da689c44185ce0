// Package pgtest starts a throwaway PostgreSQL server for tests: initdb
// into a temporary directory, postgres on a free loopback port (its unix
// socket in that directory too), one database per test, and everything
// stopped and removed when the test that started it ends.
//
// It uses the server binaries of Debian's postgresql package
// (/usr/lib/postgresql/<version>/bin), or initdb and postgres from PATH.
// When they are missing the test fails, naming the package, unless
// NINES_SKIP_POSTGRES=1, which makes it skip. Run as root, the server
// runs as the postgres user (PostgreSQL refuses to run as root).
package pgtest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// SkipEnv names the variable that, set to 1, makes tests skip when
// PostgreSQL is not installed.
const SkipEnv = "NINES_SKIP_POSTGRES"

// Server is a running PostgreSQL server that accepts any local user
// without a password (trust authentication, loopback only).
type Server struct {
	host string
	port int
	user string

	// How the server process is started again (Restart).
	bin, data, sock, dir, logPath string
	cred                          *user.User

	mu     sync.Mutex
	dbs    int
	cmd    *exec.Cmd
	exited chan error
}

// Start starts a server for t and stops it, removing its data, when t
// ends. It fails t (or skips it, with NINES_SKIP_POSTGRES=1) when the
// PostgreSQL server binaries are not installed.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := findBin(debianBins)
	if err != nil {
		missing(t, err)
		return nil
	}
	dir, err := os.MkdirTemp("", "nines-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	cred, err := serverUser(dir)
	if err != nil {
		t.Fatal(err)
	}
	data, sock, logPath := filepath.Join(dir, "data"), filepath.Join(dir, "sock"), filepath.Join(dir, "postgres.log")
	if err := os.Mkdir(sock, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := chown(cred, sock); err != nil {
		t.Fatal(err)
	}
	const superuser = "nines"
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", superuser, "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
	initdb.Dir = dir
	setCredential(initdb, cred)
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}

	s := &Server{host: "127.0.0.1", user: superuser, bin: bin, data: data, sock: sock, dir: dir, logPath: logPath, cred: cred}
	// The port is free when picked, but another process may take it
	// before postgres binds it: try a few.
	for attempt := 0; ; attempt++ {
		s.port = freePort(t)
		err := s.launch()
		if err == nil {
			t.Cleanup(s.shutdown)
			return s
		}
		log, _ := os.ReadFile(logPath)
		if attempt < 2 && bytes.Contains(log, []byte("could not bind")) {
			continue
		}
		t.Fatalf("postgres did not start: %v\n%s", err, log)
	}
}

// launch starts the server process on s.port and waits until it accepts
// connections.
func (s *Server) launch() error {
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(s.bin, "postgres"), "-D", s.data, "-p", strconv.Itoa(s.port), "-k", s.sock,
		"-c", "listen_addresses=127.0.0.1",
		// A test server: durability is not what is tested.
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=200", "-c", "shared_buffers=32MB")
	cmd.Dir = s.dir
	cmd.Stdout, cmd.Stderr = logf, logf
	setCredential(cmd, s.cred)
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start postgres: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); logf.Close() }()
	if err := s.waitReady(exited); err != nil {
		return err
	}
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()
	return nil
}

// shutdown stops the server process (fast shutdown: the clients are
// disconnected) if it runs.
func (s *Server) shutdown() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-exited
	}
}

// Stop stops the server, as an outage of the database would: every
// client's connection ends. Restart starts it again.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	s.shutdown()
}

// Restart starts a stopped server again on the same port, with its data.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	if err := s.launch(); err != nil {
		log, _ := os.ReadFile(s.logPath)
		t.Fatalf("postgres did not start again: %v\n%s", err, log)
	}
}

// missing fails t, or skips it with NINES_SKIP_POSTGRES=1, for want of
// the server binaries.
func missing(t testing.TB, err error) {
	t.Helper()
	if os.Getenv(SkipEnv) == "1" {
		t.Skipf("%v, and %s=1", err, SkipEnv)
		return
	}
	t.Fatalf("%v: install the Debian package postgresql (make test-deps), or set %s=1 to skip the PostgreSQL tests", err, SkipEnv)
}

// waitReady waits until the server accepts connections, or has exited.
func (s *Server) waitReady(exited <-chan error) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		conn, err := pgx.Connect(ctx, s.DSN("postgres"))
		if err == nil {
			return conn.Close(ctx)
		}
		select {
		case err := <-exited:
			return fmt.Errorf("postgres exited: %v", err)
		case <-ctx.Done():
			return fmt.Errorf("not ready after a minute: %w", err)
		case <-tick.C:
		}
	}
}

// DSN is the connection string of database db on the server.
func (s *Server) DSN(db string) string {
	return fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=disable", s.host, s.port, s.user, db)
}

// NewDatabase creates an empty database and returns its DSN. Databases
// are removed with the server.
func (s *Server) NewDatabase(t testing.TB) string {
	t.Helper()
	s.mu.Lock()
	s.dbs++
	name := fmt.Sprintf("nines_%d", s.dbs)
	s.mu.Unlock()
	s.Exec(t, "postgres", "CREATE DATABASE "+name)
	return s.DSN(name)
}

// Exec runs sql in database db as the superuser (to set up a case a
// store would not make itself).
func (s *Server) Exec(t testing.TB, db, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.DSN(db))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// debianBins is where Debian's server packages put their binaries.
const debianBins = "/usr/lib/postgresql/*/bin"

// findBin returns the directory of initdb and postgres: the newest
// version among the directories matching glob, else PATH's.
func findBin(glob string) (string, error) {
	dirs, _ := filepath.Glob(glob)
	slices.SortFunc(dirs, func(a, b string) int { return version(b) - version(a) })
	for _, d := range dirs {
		if isFile(filepath.Join(d, "initdb")) && isFile(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		d := filepath.Dir(p)
		if isFile(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	return "", fmt.Errorf("PostgreSQL server binaries (initdb, postgres) not found in %s or PATH", glob)
}

// version is the number in /usr/lib/postgresql/<version>/bin.
func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// serverUser is who runs the server: the postgres user when the test
// runs as root (the directory is handed to it), else the test's user.
func serverUser(dir string) (*user.User, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, PostgreSQL needs an unprivileged user to run as: %w", err)
	}
	return u, chown(u, dir)
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
