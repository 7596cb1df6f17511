// Command oidc is a small OpenID Connect issuer for the client's `oidc`
// auth-provider tests. The test kube-apiserver trusts it (--oidc-issuer-url),
// so an ID token it signs authenticates a user named "oidc:" + its subject.
//
//	oidc ADDR CERT KEY      serve https://ADDR with the certificate CERT/KEY
//
// The client secret of client "kubegen" comes from $OIDC_CLIENT_SECRET.
//
//	GET  /.well-known/openid-configuration   discovery: issuer, jwks_uri, token_endpoint
//	GET  /keys                               the signing key (JWKS)
//	POST /token                              grant_type=refresh_token, client
//	                                         authentication by HTTP Basic or
//	                                         client_id/client_secret in the form;
//	                                         answers a new ID token and a new
//	                                         refresh token (the old one is spent)
//	POST /issue?sub=S&ttl=SECONDS            test support (a login): an ID token for
//	                                         S valid for ttl seconds (negative: already
//	                                         expired) and a refresh token
//	GET  /refreshes?sub=S                    how many refreshes S has made
package main

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"
)

const clientID = "kubegen"

type issuer struct {
	url    string
	secret string
	key    *rsa.PrivateKey

	mu        sync.Mutex
	refresh   map[string]string // live refresh token -> subject
	refreshes map[string]int    // subject -> refreshes made
}

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: oidc ADDR CERT KEY")
		os.Exit(2)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	is := &issuer{
		url:       "https://" + os.Args[1],
		secret:    os.Getenv("OIDC_CLIENT_SECRET"),
		key:       key,
		refresh:   map[string]string{},
		refreshes: map[string]int{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", is.discovery)
	mux.HandleFunc("GET /keys", is.keys)
	mux.HandleFunc("POST /token", is.token)
	mux.HandleFunc("POST /issue", is.issue)
	mux.HandleFunc("GET /refreshes", is.count)
	if err := http.ListenAndServeTLS(os.Args[1], os.Args[2], os.Args[3], mux); err != nil {
		fmt.Fprintln(os.Stderr, "oidc:", err)
		os.Exit(1)
	}
}

func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// oauthError answers as RFC 6749 section 5.2 says.
func oauthError(w http.ResponseWriter, status int, code, description string) {
	reply(w, status, map[string]string{"error": code, "error_description": description})
}

func (is *issuer) discovery(w http.ResponseWriter, _ *http.Request) {
	reply(w, http.StatusOK, map[string]any{
		"issuer":                                is.url,
		"jwks_uri":                              is.url + "/keys",
		"token_endpoint":                        is.url + "/token",
		"response_types_supported":              []string{"id_token"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
	})
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func (is *issuer) keys(w http.ResponseWriter, _ *http.Request) {
	pub := is.key.PublicKey
	reply(w, http.StatusOK, map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "alg": "RS256", "use": "sig", "kid": "k1",
		"n": b64(pub.N.Bytes()), "e": b64(big.NewInt(int64(pub.E)).Bytes()),
	}}})
}

// idToken signs an RS256 JWT for sub that expires ttl from now.
func (is *issuer) idToken(sub string, ttl time.Duration) string {
	now := time.Now()
	header, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": "k1"})
	claims, _ := json.Marshal(map[string]any{
		"iss": is.url, "sub": sub, "aud": clientID,
		"iat": now.Unix(), "exp": now.Add(ttl).Unix(),
	})
	signed := b64(header) + "." + b64(claims)
	digest := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, is.key, crypto.SHA256, digest[:])
	if err != nil {
		panic(err)
	}
	return signed + "." + b64(sig)
}

// newRefreshToken records a fresh refresh token for sub; is.mu is held.
func (is *issuer) newRefreshToken(sub string) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	t := hex.EncodeToString(b)
	is.refresh[t] = sub
	return t
}

func (is *issuer) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	id, secret, basic := r.BasicAuth()
	if !basic {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != clientID || secret != is.secret {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "unknown client or wrong secret")
		return
	}
	if g := r.PostForm.Get("grant_type"); g != "refresh_token" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", g)
		return
	}
	is.mu.Lock()
	defer is.mu.Unlock()
	sub, ok := is.refresh[r.PostForm.Get("refresh_token")]
	if !ok {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "the refresh token is unknown or spent")
		return
	}
	delete(is.refresh, r.PostForm.Get("refresh_token"))
	is.refreshes[sub]++
	reply(w, http.StatusOK, map[string]any{
		"access_token":  "unused",
		"token_type":    "Bearer",
		"expires_in":    3600,
		"id_token":      is.idToken(sub, time.Hour),
		"refresh_token": is.newRefreshToken(sub),
	})
}

func (is *issuer) issue(w http.ResponseWriter, r *http.Request) {
	sub := r.URL.Query().Get("sub")
	ttl, err := strconv.Atoi(r.URL.Query().Get("ttl"))
	if sub == "" || err != nil {
		http.Error(w, "want ?sub=S&ttl=SECONDS", http.StatusBadRequest)
		return
	}
	is.mu.Lock()
	defer is.mu.Unlock()
	reply(w, http.StatusOK, map[string]string{
		"id_token":      is.idToken(sub, time.Duration(ttl)*time.Second),
		"refresh_token": is.newRefreshToken(sub),
	})
}

func (is *issuer) count(w http.ResponseWriter, r *http.Request) {
	is.mu.Lock()
	defer is.mu.Unlock()
	reply(w, http.StatusOK, is.refreshes[r.URL.Query().Get("sub")])
}
