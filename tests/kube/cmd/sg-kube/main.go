// Command sg-kube runs a throwaway Kubernetes control plane for schemagate's tests: an embedded
// etcd and the upstream kube-apiserver (and, when its binary is given, kube-controller-manager)
// on 127.0.0.1, with a generated CA, client certificates for static test users, ServiceAccount
// token signing and RBAC. It writes DIR/<user>.kubeconfig for every user, then DIR/ready once
// /readyz answers ok, and serves until SIGTERM/SIGINT, when it stops its children and etcd.
//
// It is started by tests/kube/up and stopped by tests/kube/down; see tests/kube/README.md.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

// user is a static test identity, authenticated by a client certificate (CN = name, O = groups).
type user struct {
	name   string
	groups []string
}

// users are the identities tests rely on; keep in sync with tests/kube/README.md.
var users = []user{
	{"admin", []string{"system:masters"}},
	{"alice", []string{"dba"}},
	{"dave", []string{"dba"}},
	{"bob", []string{"developers"}},
	{"carol", []string{"developers"}},
	{"argocd", []string{"gitops"}},
}

func main() {
	dir := flag.String("dir", "", "state directory (certificates, etcd data, kubeconfigs, logs)")
	apiserver := flag.String("kube-apiserver", "", "path of the kube-apiserver binary")
	kcm := flag.String("kube-controller-manager", "", "path of the kube-controller-manager binary (empty: none)")
	port := flag.Int("port", 0, "the API server's port on 127.0.0.1 (0: a free one)")
	flag.Parse()
	log.SetFlags(log.Ltime | log.Lmicroseconds)
	if *dir == "" || *apiserver == "" {
		log.Fatal("usage: sg-kube -dir DIR -kube-apiserver PATH [-kube-controller-manager PATH]")
	}
	if err := run(*dir, *apiserver, *kcm, *port); err != nil {
		log.Fatalf("sg-kube: %v", err)
	}
}

func run(dir, apiserverBin, kcmBin string, apiPort int) error {
	started := time.Now()
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	pki := filepath.Join(dir, "pki")
	if err := os.MkdirAll(pki, 0o700); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	ca, err := writePKI(pki)
	if err != nil {
		return fmt.Errorf("certificates: %w", err)
	}
	ports, err := freePorts(3)
	if err != nil {
		return err
	}
	if apiPort == 0 {
		apiPort = ports[2]
	}
	server := fmt.Sprintf("https://127.0.0.1:%d", apiPort)

	etcd, err := startEtcd(filepath.Join(dir, "etcd"), ports[0], ports[1])
	if err != nil {
		return fmt.Errorf("etcd: %w", err)
	}
	defer etcd.Close()
	log.Printf("etcd ready after %v", time.Since(started).Round(time.Millisecond))

	for _, u := range users {
		if err := writeKubeconfig(filepath.Join(dir, u.name+".kubeconfig"), server, pki, u.name); err != nil {
			return err
		}
	}
	if err := writeKubeconfig(filepath.Join(dir, "pki", "kube-controller-manager.kubeconfig"), server, pki, "kube-controller-manager"); err != nil {
		return err
	}

	procs := []*exec.Cmd{}
	defer func() { stopAll(procs) }()
	exited := make(chan error, 2)

	api, err := startProcess(ctx, dir, "kube-apiserver", apiserverBin, apiserverArgs(pki, apiPort, ports[0]), exited)
	if err != nil {
		return err
	}
	procs = append(procs, api)

	client, err := adminClient(pki, ca)
	if err != nil {
		return err
	}
	if err := waitReady(ctx, client, server+"/readyz", exited); err != nil {
		return err
	}
	log.Printf("kube-apiserver ready after %v", time.Since(started).Round(time.Millisecond))

	if kcmBin != "" {
		cm, err := startProcess(ctx, dir, "kube-controller-manager", kcmBin, controllerManagerArgs(pki), exited)
		if err != nil {
			return err
		}
		procs = append(procs, cm)
		// The ServiceAccount controller creates `default` in every namespace: once it exists in
		// `default`, the controllers are running.
		if err := waitReady(ctx, client, server+"/api/v1/namespaces/default/serviceaccounts/default", exited); err != nil {
			return err
		}
		log.Printf("kube-controller-manager ready after %v", time.Since(started).Round(time.Millisecond))
	}

	ready, err := json.MarshalIndent(map[string]any{
		"server":            server,
		"pid":               os.Getpid(),
		"startupSeconds":    time.Since(started).Seconds(),
		"controllerManager": kcmBin != "",
	}, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, "ready"), append(ready, '\n'), 0o644); err != nil {
		return err
	}
	log.Printf("control plane ready at %s after %v", server, time.Since(started).Round(time.Millisecond))

	select {
	case <-ctx.Done():
		log.Printf("stopping")
		return nil
	case err := <-exited:
		return err
	case err := <-etcd.Err():
		return fmt.Errorf("etcd failed: %w", err)
	}
}

func apiserverArgs(pki string, port, etcdPort int) []string {
	p := func(name string) string { return filepath.Join(pki, name) }
	return []string{
		"--etcd-servers=http://127.0.0.1:" + strconv.Itoa(etcdPort),
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--tls-cert-file=" + p("apiserver.crt"),
		"--tls-private-key-file=" + p("apiserver.key"),
		"--client-ca-file=" + p("ca.crt"),
		"--authorization-mode=Node,RBAC",
		"--service-cluster-ip-range=10.0.0.0/24",
		"--allow-privileged=true",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + p("sa.key"),
		"--service-account-signing-key-file=" + p("sa.key"),
		"--endpoint-reconciler-type=none",
		"--profiling=false",
		"--v=1",
	}
}

func controllerManagerArgs(pki string) []string {
	p := func(name string) string { return filepath.Join(pki, name) }
	return []string{
		"--kubeconfig=" + p("kube-controller-manager.kubeconfig"),
		"--authentication-kubeconfig=" + p("kube-controller-manager.kubeconfig"),
		"--authorization-kubeconfig=" + p("kube-controller-manager.kubeconfig"),
		"--bind-address=127.0.0.1",
		"--secure-port=0",
		"--leader-elect=false",
		"--use-service-account-credentials=true",
		"--service-account-private-key-file=" + p("sa.key"),
		"--root-ca-file=" + p("ca.crt"),
		"--cluster-signing-cert-file=" + p("ca.crt"),
		"--cluster-signing-key-file=" + p("ca.key"),
		// What a cluster without nodes needs: garbage collection, namespace lifecycle,
		// ServiceAccounts and their CA bundle, aggregated ClusterRoles, Deployments.
		"--controllers=garbage-collector-controller,namespace-controller,serviceaccount-controller,serviceaccount-token-controller,legacy-serviceaccount-token-cleaner-controller,root-ca-certificate-publisher-controller,clusterrole-aggregation-controller,deployment-controller,replicaset-controller,validatingadmissionpolicy-status-controller",
		"--v=1",
	}
}

// startProcess starts a child whose output goes to DIR/NAME.log; it dies with this process.
func startProcess(ctx context.Context, dir, name, bin string, args []string, exited chan<- error) (*exec.Cmd, error) {
	logFile, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	go func() {
		err := cmd.Wait()
		logFile.Close()
		if ctx.Err() == nil {
			exited <- fmt.Errorf("%s exited (%v); see %s", name, err, logFile.Name())
		}
	}()
	return cmd, nil
}

// stopAll sends SIGTERM to the children (last started first) and SIGKILL after 10 s.
func stopAll(procs []*exec.Cmd) {
	for i := len(procs) - 1; i >= 0; i-- {
		p := procs[i].Process
		_ = p.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() {
			for {
				if err := p.Signal(syscall.Signal(0)); err != nil {
					close(done)
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = p.Kill()
		}
	}
}

func startEtcd(dataDir string, clientPort, peerPort int) (*embed.Etcd, error) {
	cfg := embed.NewConfig()
	cfg.Name = "sg-kube"
	cfg.Dir = dataDir
	cfg.UnsafeNoFsync = true
	cfg.LogLevel = "warn"
	cfg.LogOutputs = []string{filepath.Join(filepath.Dir(dataDir), "etcd.log")}
	cu := url.URL{Scheme: "http", Host: "127.0.0.1:" + strconv.Itoa(clientPort)}
	pu := url.URL{Scheme: "http", Host: "127.0.0.1:" + strconv.Itoa(peerPort)}
	cfg.ListenClientUrls = []url.URL{cu}
	cfg.AdvertiseClientUrls = []url.URL{cu}
	cfg.ListenPeerUrls = []url.URL{pu}
	cfg.AdvertisePeerUrls = []url.URL{pu}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	// Compact like the API server expects of a long-lived etcd, but keep the history short.
	cfg.AutoCompactionMode = "periodic"
	cfg.AutoCompactionRetention = "5m"
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, err
	}
	select {
	case <-e.Server.ReadyNotify():
		return e, nil
	case <-time.After(60 * time.Second):
		e.Close()
		return nil, errors.New("etcd did not become ready within 60 s")
	}
}

func adminClient(pki string, ca *x509.CertPool) (*http.Client, error) {
	cert, err := tls.LoadX509KeyPair(filepath.Join(pki, "admin.crt"), filepath.Join(pki, "admin.key"))
	if err != nil {
		return nil, err
	}
	return &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{
			RootCAs:      ca,
			Certificates: []tls.Certificate{cert},
		}},
	}, nil
}

// waitReady polls url until it answers 200 (up to 3 minutes).
func waitReady(ctx context.Context, client *http.Client, url string, exited <-chan error) error {
	deadline := time.Now().Add(3 * time.Minute)
	last := ""
	for time.Now().Before(deadline) {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-exited:
			return err
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s not ok within 3 minutes (last: %s)", url, last)
}

func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func writeKubeconfig(path, server, pki, name string) error {
	read := func(f string) (string, error) {
		b, err := os.ReadFile(filepath.Join(pki, f))
		return string(b), err
	}
	ca, err := read("ca.crt")
	if err != nil {
		return err
	}
	crt, err := read(name + ".crt")
	if err != nil {
		return err
	}
	key, err := read(name + ".key")
	if err != nil {
		return err
	}
	b64 := func(s string) string { return base64Std(s) }
	text := strings.Join([]string{
		"apiVersion: v1",
		"kind: Config",
		"clusters:",
		"- name: sg-kube",
		"  cluster:",
		"    server: " + server,
		"    certificate-authority-data: " + b64(ca),
		"users:",
		"- name: " + name,
		"  user:",
		"    client-certificate-data: " + b64(crt),
		"    client-key-data: " + b64(key),
		"contexts:",
		"- name: " + name + "@sg-kube",
		"  context:",
		"    cluster: sg-kube",
		"    user: " + name,
		"    namespace: default",
		"current-context: " + name + "@sg-kube",
		"",
	}, "\n")
	return writeFileAtomic(path, []byte(text), 0o600)
}

func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
