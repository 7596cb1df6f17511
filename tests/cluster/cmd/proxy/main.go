// Command proxy is a forward proxy for the client's proxy tests: it opens a
// tunnel to the host and port a client names and relays bytes both ways, so
// TLS to the API server passes through it untouched.
//
//	proxy http|https|socks5 [-auth USER:PASS] [-cert FILE -key FILE] [-to HOST]
//
//	http    HTTP CONNECT; any other method is answered 405
//	https   the same inside TLS, serving -cert/-key, or a self-signed
//	        certificate for 127.0.0.1 when they are not given
//	socks5  SOCKS5 CONNECT (RFC 1928), without authentication or with
//	        username/password (RFC 1929) when -auth is set
//	-auth   credentials a client must present: Proxy-Authorization: Basic
//	        (407 without them), or the SOCKS5 username/password
//	-to     dial HOST instead of the host asked for (the port is kept), so a
//	        test can name the server by a name the machine does not resolve
//
// It listens on a free port of 127.0.0.1 and prints that address as its first
// line on stdout, then `CONNECT HOST:PORT` (the target as the client named
// it) for every tunnel it opens, before it tells the client the tunnel is
// open. Refusals go to stderr.
package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fail("usage: proxy http|https|socks5 [-auth USER:PASS] [-cert FILE -key FILE] [-to HOST]")
	}
	mode := os.Args[1]
	flags := flag.NewFlagSet(mode, flag.ExitOnError)
	auth := flags.String("auth", "", "USER:PASS a client must present")
	certFile := flags.String("cert", "", "PEM certificate to serve (https)")
	keyFile := flags.String("key", "", "PEM key of -cert (https)")
	to := flags.String("to", "", "host to dial instead of the one asked for")
	_ = flags.Parse(os.Args[2:])

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail(err.Error())
	}
	p := &proxy{auth: *auth, to: *to}
	switch mode {
	case "http":
	case "https":
		cert, err := certificate(*certFile, *keyFile)
		if err != nil {
			fail(err.Error())
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}})
	case "socks5":
	default:
		fail(fmt.Sprintf("unknown mode %q (http, https or socks5)", mode))
	}
	fmt.Println(ln.Addr().String())
	if mode == "socks5" {
		err = p.serveSOCKS5(ln)
	} else {
		err = http.Serve(ln, http.HandlerFunc(p.serveCONNECT))
	}
	fail(err.Error())
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "proxy:", msg)
	os.Exit(1)
}

type proxy struct {
	auth string
	to   string
}

// dial opens the upstream connection for target, after printing it.
func (p *proxy) dial(target string) (net.Conn, error) {
	addr := target
	if p.to != "" {
		_, port, err := net.SplitHostPort(target)
		if err != nil {
			return nil, err
		}
		addr = net.JoinHostPort(p.to, port)
	}
	return net.DialTimeout("tcp", addr, 10*time.Second)
}

func (p *proxy) serveCONNECT(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodConnect {
		http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
		return
	}
	if p.auth != "" && r.Header.Get("Proxy-Authorization") != "Basic "+base64.StdEncoding.EncodeToString([]byte(p.auth)) {
		fmt.Fprintln(os.Stderr, "proxy: refused CONNECT", r.Host, "without the right credentials")
		w.Header().Set("Proxy-Authenticate", `Basic realm="proxy"`)
		http.Error(w, "proxy credentials required", http.StatusProxyAuthRequired)
		return
	}
	upstream, err := p.dial(r.Host)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	client, buffered, err := http.NewResponseController(w).Hijack()
	if err != nil {
		upstream.Close()
		fmt.Fprintln(os.Stderr, "proxy: hijack:", err)
		return
	}
	fmt.Println("CONNECT", r.Host)
	if _, err := client.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n")); err != nil {
		client.Close()
		upstream.Close()
		return
	}
	// Bytes the client sent after its CONNECT may sit in the server's buffer.
	relay(client, buffered.Reader, upstream)
}

func (p *proxy) serveSOCKS5(ln net.Listener) error {
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		go p.socks5(c)
	}
}

// socks5 serves one SOCKS5 connection: method negotiation, the optional
// username/password exchange, then a CONNECT request.
func (p *proxy) socks5(c net.Conn) {
	refuse := func(why string, reply []byte) {
		fmt.Fprintln(os.Stderr, "proxy: socks5:", why)
		if reply != nil {
			_, _ = c.Write(reply)
		}
		c.Close()
	}
	head, err := readN(c, 2) // VER NMETHODS
	if err != nil || head[0] != 5 {
		refuse("not SOCKS5", nil)
		return
	}
	methods, err := readN(c, int(head[1]))
	if err != nil {
		refuse(err.Error(), nil)
		return
	}
	method := byte(0x00) // no authentication
	if p.auth != "" {
		method = 0x02 // username/password
	}
	if !bytes.Contains(methods, []byte{method}) {
		refuse(fmt.Sprintf("client offers methods %v, not %d", methods, method), []byte{5, 0xff})
		return
	}
	if _, err := c.Write([]byte{5, method}); err != nil {
		c.Close()
		return
	}
	if p.auth != "" {
		user, pass, err := readUserPass(c)
		if err != nil || user+":"+pass != p.auth {
			refuse("wrong credentials", []byte{1, 1})
			return
		}
		if _, err := c.Write([]byte{1, 0}); err != nil {
			c.Close()
			return
		}
	}
	req, err := readN(c, 4) // VER CMD RSV ATYP
	if err != nil || req[1] != 1 {
		refuse("not a CONNECT", []byte{5, 7, 0, 1, 0, 0, 0, 0, 0, 0})
		return
	}
	var host string
	switch req[3] {
	case 1, 4: // IPv4, IPv6
		n := 4
		if req[3] == 4 {
			n = 16
		}
		ip, err := readN(c, n)
		if err != nil {
			refuse(err.Error(), nil)
			return
		}
		host = net.IP(ip).String()
	case 3: // a name, resolved here
		n, err := readN(c, 1)
		if err == nil {
			var name []byte
			name, err = readN(c, int(n[0]))
			host = string(name)
		}
		if err != nil {
			refuse(err.Error(), nil)
			return
		}
	default:
		refuse("unknown address type", []byte{5, 8, 0, 1, 0, 0, 0, 0, 0, 0})
		return
	}
	port, err := readN(c, 2)
	if err != nil {
		refuse(err.Error(), nil)
		return
	}
	target := net.JoinHostPort(host, strconv.Itoa(int(binary.BigEndian.Uint16(port))))
	upstream, err := p.dial(target)
	if err != nil {
		refuse(err.Error(), []byte{5, 5, 0, 1, 0, 0, 0, 0, 0, 0})
		return
	}
	fmt.Println("CONNECT", target)
	if _, err := c.Write([]byte{5, 0, 0, 1, 0, 0, 0, 0, 0, 0}); err != nil {
		c.Close()
		upstream.Close()
		return
	}
	relay(c, c, upstream)
}

// readUserPass reads an RFC 1929 request: VER ULEN UNAME PLEN PASSWD.
func readUserPass(c net.Conn) (string, string, error) {
	var fields [2]string
	if _, err := readN(c, 1); err != nil {
		return "", "", err
	}
	for i := range fields {
		n, err := readN(c, 1)
		if err != nil {
			return "", "", err
		}
		b, err := readN(c, int(n[0]))
		if err != nil {
			return "", "", err
		}
		fields[i] = string(b)
	}
	return fields[0], fields[1], nil
}

func readN(r io.Reader, n int) ([]byte, error) {
	b := make([]byte, n)
	_, err := io.ReadFull(r, b)
	return b, err
}

// relay copies both ways until either side is done, then closes both.
func relay(client net.Conn, fromClient io.Reader, upstream net.Conn) {
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(upstream, fromClient); done <- struct{}{} }()
	go func() { _, _ = io.Copy(client, upstream); done <- struct{}{} }()
	<-done
	client.Close()
	upstream.Close()
}

// certificate loads certFile and keyFile, or makes a self-signed certificate
// for 127.0.0.1 that no CA vouches for.
func certificate(certFile, keyFile string) (tls.Certificate, error) {
	if certFile != "" {
		return tls.LoadX509KeyPair(certFile, keyFile)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "kubegen-test-proxy"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
