package bus_test

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/swell-pipeline/swell/internal/bus"
	"github.com/swell-pipeline/swell/internal/testenv"
)

// nkeyUser is a user NKey with its seed in a file, as --nats-nkey takes it.
type nkeyUser struct {
	pub, seedFile string
}

func newNKeyUser(t *testing.T) nkeyUser {
	t.Helper()
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatalf("create nkey: %v", err)
	}
	pub, err := kp.PublicKey()
	if err != nil {
		t.Fatalf("nkey public key: %v", err)
	}
	seed, err := kp.Seed()
	if err != nil {
		t.Fatalf("nkey seed: %v", err)
	}
	return nkeyUser{pub: pub, seedFile: writeFile(t, "user.nk", seed)}
}

// operatorSetup is a decentralised-auth (JWT) setup: an operator, one
// account it trusts, and credentials files for a user of that account and
// for a user of an account the operator never signed. Creds files only work
// in this mode: a server with plain nkey users ignores the JWT.
type operatorSetup struct {
	tune                  func(*server.Options)
	goodCreds, strayCreds string
}

func newOperatorSetup(t *testing.T) operatorSetup {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("operator setup: %v", err)
		}
	}
	okp, err := nkeys.CreateOperator()
	must(err)
	opub, err := okp.PublicKey()
	must(err)
	ojwt, err := jwt.NewOperatorClaims(opub).Encode(okp)
	must(err)
	operator, err := jwt.DecodeOperatorClaims(ojwt)
	must(err)

	account := func(signer nkeys.KeyPair) (nkeys.KeyPair, string, string) {
		akp, err := nkeys.CreateAccount()
		must(err)
		apub, err := akp.PublicKey()
		must(err)
		ajwt, err := jwt.NewAccountClaims(apub).Encode(signer)
		must(err)
		return akp, apub, ajwt
	}
	creds := func(akp nkeys.KeyPair, name string) string {
		ukp, err := nkeys.CreateUser()
		must(err)
		upub, err := ukp.PublicKey()
		must(err)
		ujwt, err := jwt.NewUserClaims(upub).Encode(akp)
		must(err)
		seed, err := ukp.Seed()
		must(err)
		data, err := jwt.FormatUserConfig(ujwt, seed)
		must(err)
		return writeFile(t, name, data)
	}
	akp, apub, ajwt := account(okp)
	resolver := &server.MemAccResolver{}
	must(resolver.Store(apub, ajwt))

	// The stray account is signed by a second operator the server does not trust.
	strayOp, err := nkeys.CreateOperator()
	must(err)
	strayAcc, _, _ := account(strayOp)

	return operatorSetup{
		tune: func(o *server.Options) {
			o.TrustedOperators = []*jwt.OperatorClaims{operator}
			o.AccountResolver = resolver
		},
		goodCreds:  creds(akp, "good.creds"),
		strayCreds: creds(strayAcc, "stray.creds"),
	}
}

func TestConnectAuthenticatesWithEachMethod(t *testing.T) {
	pki := newTestPKI(t)
	nk, otherNK := newNKeyUser(t), newNKeyUser(t)
	op := newOperatorSetup(t)

	userPassword := func(o *server.Options) { o.Username, o.Password = "swell", "right-pw" }
	token := func(o *server.Options) { o.Authorization = "right-token" }
	nkeyUsers := func(o *server.Options) { o.Nkeys = []*server.NkeyUser{{Nkey: nk.pub}} }
	serverTLS := func(mutual bool) func(*server.Options) {
		return func(o *server.Options) {
			o.TLSConfig = pki.serverTLS(t, mutual)
			o.TLSVerify = mutual
			o.TLSTimeout = 5
		}
	}

	tests := []struct {
		name   string
		server func(*server.Options)
		conn   bus.ConnOptions
		// wantIs and wantText describe the error; both empty means success.
		wantIs   error
		wantText string
	}{
		{name: "user and password", server: userPassword,
			conn: bus.ConnOptions{User: "swell", Password: "right-pw"}},
		{name: "wrong password is refused", server: userPassword,
			conn:   bus.ConnOptions{User: "swell", Password: "wrong-pw"},
			wantIs: nats.ErrAuthorization},
		{name: "no credentials are refused where a password is required", server: userPassword,
			wantIs: nats.ErrAuthorization},
		{name: "token", server: token,
			conn: bus.ConnOptions{Token: "right-token"}},
		{name: "wrong token is refused", server: token,
			conn:   bus.ConnOptions{Token: "wrong-token"},
			wantIs: nats.ErrAuthorization},
		{name: "nkey seed file", server: nkeyUsers,
			conn: bus.ConnOptions{NKeyFile: nk.seedFile}},
		{name: "nkey the server does not know is refused", server: nkeyUsers,
			conn:   bus.ConnOptions{NKeyFile: otherNK.seedFile},
			wantIs: nats.ErrAuthorization},
		{name: "missing nkey seed file names the file", server: nkeyUsers,
			conn:     bus.ConnOptions{NKeyFile: "/nonexistent/user.nk"},
			wantText: "/nonexistent/user.nk"},
		{name: "creds file of a trusted account", server: op.tune,
			conn: bus.ConnOptions{CredsFile: op.goodCreds}},
		{name: "creds file of an untrusted account is refused", server: op.tune,
			conn:   bus.ConnOptions{CredsFile: op.strayCreds},
			wantIs: nats.ErrAuthorization},
		{name: "TLS verified with the CA file", server: serverTLS(false),
			conn: bus.ConnOptions{TLSCAFile: pki.caFile}},
		{name: "TLS without the CA file fails verification", server: serverTLS(false),
			wantText: "certificate signed by unknown authority"},
		{name: "mutual TLS with a client certificate", server: serverTLS(true),
			conn: bus.ConnOptions{TLSCAFile: pki.caFile, TLSCertFile: pki.clientCert, TLSKeyFile: pki.clientKey}},
		{name: "mutual TLS without a client certificate is refused", server: serverTLS(true),
			conn: bus.ConnOptions{TLSCAFile: pki.caFile},
			// The refusal arrives as an alert or as a closed socket, whichever wins the race.
			wantText: "tls"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, addr := startServer(t, tc.server)
			co := tc.conn
			co.URL = natsURL(addr)
			co.Name = t.Name()
			nc, err := co.Connect(nil)
			if tc.wantIs == nil && tc.wantText == "" {
				if err != nil {
					t.Fatalf("Connect: %v", err)
				}
				defer nc.Close()
				// A round trip proves the server accepted us, not only the socket.
				if err := nc.FlushTimeout(5 * time.Second); err != nil {
					t.Fatalf("flush after connect: %v", err)
				}
				return
			}
			if err == nil {
				nc.Close()
				t.Fatalf("Connect succeeded, want an error")
			}
			t.Logf("error: %v", err)
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("error %q is not %v", err, tc.wantIs)
			}
			if tc.wantText != "" && !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("error %q does not contain %q", err, tc.wantText)
			}
			if !strings.HasPrefix(err.Error(), "nats: ") {
				t.Errorf("error %q does not start with \"nats: \"", err)
			}
		})
	}
}

func TestValidateRejectsOptionsThatCannotWork(t *testing.T) {
	tests := []struct {
		name string
		opts bus.ConnOptions
		want string // "" means valid
	}{
		{name: "URL alone is valid", opts: bus.ConnOptions{URL: "nats://127.0.0.1:4222"}},
		{name: "everything compatible is valid", opts: bus.ConnOptions{
			URL: "nats://a:4222, tls://b:4222", User: "u", Password: "p",
			TLSCAFile: "ca.pem", TLSCertFile: "c.pem", TLSKeyFile: "k.pem"}},
		{name: "URL without scheme is valid", opts: bus.ConnOptions{URL: "127.0.0.1:4222"}},
		{name: "no URL", opts: bus.ConnOptions{}, want: "no server URL"},
		{name: "only commas and blanks", opts: bus.ConnOptions{URL: " , ,"}, want: "no server URL"},
		{name: "user and token", opts: bus.ConnOptions{URL: "nats://h", User: "u", Token: "t"}, want: "choose one"},
		{name: "token and nkey", opts: bus.ConnOptions{URL: "nats://h", Token: "t", NKeyFile: "n"}, want: "choose one"},
		{name: "nkey and creds", opts: bus.ConnOptions{URL: "nats://h", NKeyFile: "n", CredsFile: "c"}, want: "choose one"},
		{name: "password without user", opts: bus.ConnOptions{URL: "nats://h", Password: "p"}, want: "--nats-password needs --nats-user"},
		{name: "cert without key", opts: bus.ConnOptions{URL: "nats://h", TLSCertFile: "c.pem"}, want: "go together"},
		{name: "key without cert", opts: bus.ConnOptions{URL: "nats://h", TLSKeyFile: "k.pem"}, want: "go together"},
		{name: "URL that does not parse", opts: bus.ConnOptions{URL: "nats://h:4222,nats://h:port"}, want: "not a valid URL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.opts.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate: %v, want nil", err)
			case tc.want != "" && err == nil:
				t.Fatalf("Validate: nil, want an error containing %q", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("Validate: %q, want it to contain %q", err, tc.want)
			}
			// Connect must refuse the same options before dialling anything.
			if tc.want != "" {
				if _, err := tc.opts.Connect(nil); err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("Connect: %v, want an error containing %q", err, tc.want)
				}
			}
		})
	}
}

func TestConnectErrorsNeverShowSecrets(t *testing.T) {
	const secret = "s3cret"
	port := testenv.FreePort(t) // nothing listens there
	_, authAddr := startServer(t, func(o *server.Options) { o.Username, o.Password = "swell", "right-pw" })
	hostPort := fmt.Sprintf("127.0.0.1:%d", port)

	tests := []struct {
		name string
		opts bus.ConnOptions
		// mention is something the error must still say, so a test that
		// passes because the error says nothing at all is caught.
		mention string
	}{
		{name: "password in URL",
			opts:    bus.ConnOptions{URL: "nats://swell:" + secret + "@" + hostPort},
			mention: hostPort},
		{name: "token in URL",
			opts:    bus.ConnOptions{URL: "nats://" + secret + "-token@" + hostPort},
			mention: hostPort},
		{name: "password in URL without scheme",
			opts:    bus.ConnOptions{URL: "swell:" + secret + "@" + hostPort},
			mention: hostPort},
		{name: "password in the second URL of a list",
			opts:    bus.ConnOptions{URL: "nats://" + hostPort + ", nats://swell:" + secret + "@" + hostPort},
			mention: hostPort},
		{name: "password with a bad escape",
			opts:    bus.ConnOptions{URL: "nats://swell:" + secret + "%zz@" + hostPort},
			mention: hostPort},
		{name: "password with a hash",
			opts:    bus.ConnOptions{URL: "nats://swell:" + secret + "#1@" + hostPort},
			mention: hostPort},
		{name: "wrong password option",
			opts:    bus.ConnOptions{URL: natsURL(authAddr), User: "swell", Password: secret},
			mention: authAddr},
		{name: "wrong password in URL",
			opts:    bus.ConnOptions{URL: "nats://swell:" + secret + "@" + authAddr},
			mention: authAddr},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			nc, err := tc.opts.Connect(nil)
			if err == nil {
				nc.Close()
				t.Fatalf("Connect succeeded, want an error")
			}
			t.Logf("error: %v", err)
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error shows the secret: %q", err)
			}
			if !strings.Contains(err.Error(), tc.mention) {
				t.Errorf("error %q does not name %s", err, tc.mention)
			}
		})
	}
}

func TestConnectWithRetryWaitsForTheServer(t *testing.T) {
	port := testenv.FreePort(t)
	url := fmt.Sprintf("nats://127.0.0.1:%d", port)

	t.Run("without retry the first failure is an error", func(t *testing.T) {
		nc, err := bus.ConnOptions{URL: url}.Connect(nil)
		if err == nil {
			nc.Close()
			t.Fatalf("Connect succeeded with no server listening")
		}
		if !errors.Is(err, nats.ErrNoServers) {
			t.Errorf("error %q is not nats.ErrNoServers", err)
		}
	})

	t.Run("with retry it connects once the server starts", func(t *testing.T) {
		nc, err := bus.ConnOptions{URL: url, RetryOnFailedConnect: true, MaxReconnectWait: 100 * time.Millisecond}.Connect(nil)
		if err != nil {
			t.Fatalf("Connect: %v", err)
		}
		t.Cleanup(nc.Close)
		if nc.IsConnected() {
			t.Fatalf("connected before any server listens on %s", url)
		}
		testenv.NATSAt(t, t.TempDir(), port)
		waitFor(t, 10*time.Second, "client connects to the late server", nc.IsConnected)
		if err := nc.FlushTimeout(5 * time.Second); err != nil {
			t.Fatalf("flush: %v", err)
		}
	})
}

func TestConnectReconnectsAfterServerRestart(t *testing.T) {
	dir, port := t.TempDir(), testenv.FreePort(t)
	srv := testenv.NATSAt(t, dir, port)
	logs := &testenv.SyncBuffer{}
	nc, err := bus.ConnOptions{URL: srv.ClientURL(), MaxReconnectWait: 100 * time.Millisecond}.
		Connect(slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(nc.Close)
	js := jetStream(t, nc)
	if err := bus.EnsureStreams(t.Context(), js, bus.StreamLimits{}); err != nil {
		t.Fatalf("EnsureStreams: %v", err)
	}
	if _, err := js.Publish(t.Context(), bus.MetricsSubject("n1"), []byte("cpu usage=1 1")); err != nil {
		t.Fatalf("publish: %v", err)
	}

	srv.Shutdown()
	waitFor(t, 10*time.Second, "client notices the server is gone", func() bool { return !nc.IsConnected() })
	testenv.NATSAt(t, dir, port)
	waitFor(t, 10*time.Second, "client reconnects", nc.IsConnected)

	// The same client sees what was stored before the restart.
	st, err := js.Stream(t.Context(), bus.StreamMetrics)
	if err != nil {
		t.Fatalf("stream after restart: %v", err)
	}
	if n := st.CachedInfo().State.Msgs; n != 1 {
		t.Errorf("SWELL_METRICS holds %d messages after the restart, want 1", n)
	}
	waitFor(t, 5*time.Second, "reconnect is logged", func() bool { return strings.Contains(logs.String(), "nats reconnected") })
}

func TestReconnectLogsNeverShowURLPassword(t *testing.T) {
	const secret = "s3cret-pw"
	port := testenv.FreePort(t)
	auth := func(o *server.Options) { o.Port, o.Username, o.Password = port, "swell", secret }
	srv, _ := startServer(t, auth)
	logs := &testenv.SyncBuffer{}
	nc, err := bus.ConnOptions{
		URL:              fmt.Sprintf("nats://swell:%s@127.0.0.1:%d", secret, port),
		MaxReconnectWait: 100 * time.Millisecond,
	}.Connect(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(nc.Close)

	srv.Shutdown()
	srv.WaitForShutdown()
	startServer(t, auth)
	waitFor(t, 10*time.Second, "reconnect is logged", func() bool { return strings.Contains(logs.String(), "nats reconnected") })
	if !nc.IsConnected() {
		t.Fatalf("logged a reconnect but is not connected (status %s)", nc.Status())
	}
	if strings.Contains(logs.String(), secret) {
		t.Errorf("logs show the password:\n%s", logs.String())
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		<-tick.C
	}
}
