package sip

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/icholy/digest"

	sipmsg "github.com/emiago/sipgo/sip"
)

// errNoChallenge is authorize's error for a 401/407 without a digest
// challenge Hotline can answer (MD5 or SHA-256, qop auth or none).
var errNoChallenge = errors.New("no usable digest challenge")

// authorize answers a 401 (WWW-Authenticate) or 407 (Proxy-Authenticate)
// challenge to req (RFC 3261 22.2/22.3, RFC 2617/7616 digest, qop=auth
// when offered): it adds the Authorization or Proxy-Authorization header
// to req, computed over req's method and Request-URI. realm, if set, is
// the only realm Hotline gives its credentials to. The password never
// leaves this function but hashed.
func authorize(req *sipmsg.Request, res *sipmsg.Response, user, password, realm string) error {
	chalName, credName := "WWW-Authenticate", "Authorization"
	if res.StatusCode == 407 {
		chalName, credName = "Proxy-Authenticate", "Proxy-Authorization"
	}
	var chal *digest.Challenge
	for _, h := range res.GetHeaders(chalName) {
		c, err := digest.ParseChallenge(h.Value())
		if err != nil {
			continue
		}
		c.Algorithm = strings.ToUpper(c.Algorithm)
		if c.Algorithm != "" && c.Algorithm != "MD5" && c.Algorithm != "SHA-256" {
			continue
		}
		if len(c.QOP) > 0 && !c.SupportsQOP("auth") {
			continue
		}
		if realm != "" && c.Realm != realm {
			return fmt.Errorf("challenge realm %q is not the trunk's %q", c.Realm, realm)
		}
		// RFC 8760: prefer SHA-256 when the far end offers both.
		if chal == nil || c.Algorithm == "SHA-256" && chal.Algorithm != "SHA-256" {
			chal = c
		}
	}
	if chal == nil {
		return errNoChallenge
	}
	body := req.Body()
	cred, err := digest.Digest(chal, digest.Options{
		Method:   string(req.Method),
		URI:      req.Recipient.String(),
		Username: user,
		Password: password,
		GetBody:  func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil },
	})
	if err != nil {
		return err
	}
	req.RemoveHeader(credName)
	req.AppendHeader(sipmsg.NewHeader(credName, cred.String()))
	return nil
}

// isChallenge says whether a final response asks for credentials.
func isChallenge(res *sipmsg.Response) bool {
	return res != nil && (res.StatusCode == 401 || res.StatusCode == 407)
}
