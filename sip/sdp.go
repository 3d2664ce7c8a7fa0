package sip

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"hotline/media"
)

// Offer is what Hotline needs from a caller's SDP: where to send audio,
// which codec to use and how digits travel.
type Offer struct {
	Addr      netip.AddrPort
	Codec     media.PayloadType
	CodecName string
	DTMFPT    uint8
	RTCPMux   bool
	Direction string // sendrecv, sendonly, recvonly, inactive (as the caller sees it)
	// MLines is the number of m= lines; non-audio ones are declined in the
	// answer with port 0, as RFC 3264 requires.
	MLines []mline
	// AudioIndex is the index in MLines of the audio stream we accepted.
	AudioIndex int
}

type mline struct {
	media  string
	proto  string
	fmts   string
	accept bool
}

var (
	errSDPMalformed = errors.New("malformed SDP")
	errNoCodec      = errors.New("no common codec")
)

// parseOffer reads an SDP offer. It returns errNoCodec (wrapped) when the
// SDP is well formed but offers nothing we can speak, so the caller can
// answer 488, and errSDPMalformed for anything unparseable (400).
func parseOffer(body []byte) (*Offer, error) {
	var (
		sessAddr   netip.Addr
		haveSess   bool
		sessDir    = "sendrecv"
		o          = &Offer{AudioIndex: -1}
		cur        = -1
		audioAddr  netip.Addr
		audioPort  int
		audioFmts  []int
		rtpmaps    = map[int]string{}
		audioDir   string
		audioMux   bool
		sawVersion bool
	)
	lines := strings.Split(strings.ReplaceAll(string(body), "\r\n", "\n"), "\n")
	for i, ln := range lines {
		ln = strings.TrimRight(ln, "\r ")
		if ln == "" {
			continue
		}
		if len(ln) < 2 || ln[1] != '=' {
			return nil, fmt.Errorf("%w: line %d: %q is not type=value", errSDPMalformed, i+1, ln)
		}
		typ, val := ln[0], ln[2:]
		switch typ {
		case 'v':
			if val != "0" {
				return nil, fmt.Errorf("%w: unsupported version v=%s", errSDPMalformed, val)
			}
			sawVersion = true
		case 'c':
			a, err := parseConn(val)
			if err != nil {
				return nil, fmt.Errorf("%w: line %d: %v", errSDPMalformed, i+1, err)
			}
			if cur < 0 {
				sessAddr, haveSess = a, true
			} else if cur == o.AudioIndex {
				audioAddr = a
			}
		case 'm':
			f := strings.Fields(val)
			if len(f) < 4 {
				return nil, fmt.Errorf("%w: line %d: m= needs media, port, proto and formats", errSDPMalformed, i+1)
			}
			portStr, _, _ := strings.Cut(f[1], "/")
			port, err := strconv.Atoi(portStr)
			if err != nil || port < 0 || port > 65535 {
				return nil, fmt.Errorf("%w: line %d: bad port %q", errSDPMalformed, i+1, f[1])
			}
			ml := mline{media: f[0], proto: f[2], fmts: strings.Join(f[3:], " ")}
			o.MLines = append(o.MLines, ml)
			cur = len(o.MLines) - 1
			// The first plain-RTP audio stream with a port is ours; SRTP
			// (RTP/SAVP) is not answered with plain RTP, which would leave
			// the caller sending encrypted audio nobody can decode.
			if f[0] == "audio" && o.AudioIndex < 0 && port != 0 && (f[2] == "RTP/AVP" || f[2] == "RTP/AVPF") {
				o.AudioIndex = cur
				audioPort = port
				for _, s := range f[3:] {
					pt, err := strconv.Atoi(s)
					if err != nil || pt < 0 || pt > 127 {
						return nil, fmt.Errorf("%w: line %d: bad payload type %q", errSDPMalformed, i+1, s)
					}
					audioFmts = append(audioFmts, pt)
				}
			}
		case 'a':
			name, arg, _ := strings.Cut(val, ":")
			switch name {
			case "sendrecv", "sendonly", "recvonly", "inactive":
				if cur < 0 {
					sessDir = name
				} else if cur == o.AudioIndex {
					audioDir = name
				}
			case "rtcp-mux":
				if cur == o.AudioIndex && cur >= 0 {
					audioMux = true
				}
			case "rtpmap":
				if cur == o.AudioIndex && cur >= 0 {
					ptStr, enc, ok := strings.Cut(arg, " ")
					pt, err := strconv.Atoi(ptStr)
					if !ok || err != nil {
						return nil, fmt.Errorf("%w: line %d: bad rtpmap %q", errSDPMalformed, i+1, arg)
					}
					rtpmaps[pt] = strings.ToLower(strings.TrimSpace(enc))
				}
			}
		}
	}
	if !sawVersion || len(o.MLines) == 0 {
		return nil, fmt.Errorf("%w: missing v= or m= line", errSDPMalformed)
	}
	if o.AudioIndex < 0 {
		return nil, fmt.Errorf("%w: no RTP/AVP audio stream offered", errNoCodec)
	}
	if !audioAddr.IsValid() {
		if !haveSess {
			return nil, fmt.Errorf("%w: no c= line for the audio stream", errSDPMalformed)
		}
		audioAddr = sessAddr
	}
	o.Addr = netip.AddrPortFrom(audioAddr, uint16(audioPort))
	o.RTCPMux = audioMux
	o.Direction = sessDir
	if audioDir != "" {
		o.Direction = audioDir
	}
	// The caller's order is its preference (RFC 3264 6.1).
	found := false
	for _, pt := range audioFmts {
		enc := rtpmaps[pt]
		switch {
		case !found && (pt == 0 && (enc == "" || strings.HasPrefix(enc, "pcmu/8000")) || pt >= 96 && strings.HasPrefix(enc, "pcmu/8000")):
			o.Codec, o.CodecName, found = media.PTPCMU, "PCMU", true
		case !found && (pt == 8 && (enc == "" || strings.HasPrefix(enc, "pcma/8000")) || pt >= 96 && strings.HasPrefix(enc, "pcma/8000")):
			o.Codec, o.CodecName, found = media.PTPCMA, "PCMA", true
		case strings.HasPrefix(enc, "telephone-event/8000") && o.DTMFPT == 0:
			o.DTMFPT = uint8(pt)
		}
	}
	if !found {
		return nil, fmt.Errorf("%w: offered formats %v", errNoCodec, audioFmts)
	}
	o.MLines[o.AudioIndex].accept = true
	return o, nil
}

func parseConn(val string) (netip.Addr, error) {
	f := strings.Fields(val)
	if len(f) < 3 || f[0] != "IN" {
		return netip.Addr{}, fmt.Errorf("bad c= %q", val)
	}
	host, _, _ := strings.Cut(f[2], "/") // multicast TTL suffix
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("c= address %q is not an IP address", f[2])
	}
	if (f[1] == "IP4") != a.Is4() && !a.Is4In6() {
		return netip.Addr{}, fmt.Errorf("c= address type %s does not match %s", f[1], f[2])
	}
	return a, nil
}

// answerDirection is our direction for the caller's: when they only send
// (hold), we only receive.
func answerDirection(offer string) string {
	switch offer {
	case "sendonly":
		return "recvonly"
	case "recvonly":
		return "sendonly"
	case "inactive":
		return "inactive"
	}
	return "sendrecv"
}

// sdpBuilder writes our SDP. sessID is fixed for the dialog and version
// goes up with each new description we send (RFC 3264 8).
type sdpBuilder struct {
	sessID  uint64
	version uint64
}

func (b *sdpBuilder) answer(ip netip.Addr, port int, o *Offer) []byte {
	b.version++
	var s strings.Builder
	s.Grow(320)
	ipv := "IP4"
	if ip.Is6() && !ip.Is4In6() {
		ipv = "IP6"
	}
	ipStr := ip.Unmap().String()
	fmt.Fprintf(&s, "v=0\r\no=hotline %d %d IN %s %s\r\ns=hotline\r\nc=IN %s %s\r\nt=0 0\r\n",
		b.sessID, b.version, ipv, ipStr, ipv, ipStr)
	for i, ml := range o.MLines {
		if i != o.AudioIndex {
			fmt.Fprintf(&s, "m=%s 0 %s %s\r\n", ml.media, ml.proto, ml.fmts)
			continue
		}
		if o.DTMFPT != 0 {
			fmt.Fprintf(&s, "m=audio %d RTP/AVP %d %d\r\n", port, o.Codec, o.DTMFPT)
		} else {
			fmt.Fprintf(&s, "m=audio %d RTP/AVP %d\r\n", port, o.Codec)
		}
		fmt.Fprintf(&s, "a=rtpmap:%d %s/8000\r\n", o.Codec, o.CodecName)
		if o.DTMFPT != 0 {
			fmt.Fprintf(&s, "a=rtpmap:%d telephone-event/8000\r\na=fmtp:%d 0-16\r\n", o.DTMFPT, o.DTMFPT)
		}
		s.WriteString("a=ptime:20\r\n")
		if o.RTCPMux {
			s.WriteString("a=rtcp-mux\r\n")
		}
		fmt.Fprintf(&s, "a=%s\r\n", answerDirection(o.Direction))
	}
	return []byte(s.String())
}

// offer writes our own offer, for an INVITE or re-INVITE that came without
// SDP (the caller expects the offer in our 200 and answers in the ACK).
func (b *sdpBuilder) offer(ip netip.Addr, port int) []byte {
	o := &Offer{
		Codec: media.PTPCMU, CodecName: "PCMU", DTMFPT: 101, Direction: "sendrecv",
		MLines: []mline{{media: "audio"}}, AudioIndex: 0,
	}
	out := string(b.answer(ip, port, o))
	// Offer both G.711 laws; the answer in the ACK picks one.
	out = strings.Replace(out, "RTP/AVP 0 101", "RTP/AVP 0 8 101", 1)
	out = strings.Replace(out, "a=rtpmap:0 PCMU/8000\r\n", "a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n", 1)
	return []byte(out)
}
