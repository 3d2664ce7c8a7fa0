package sip

import (
	"errors"
	"strings"
	"testing"

	"hotline/media"
)

func sdp(lines ...string) []byte { return []byte(strings.Join(lines, "\r\n") + "\r\n") }

func TestParseOfferPicksCallersFirstCodec(t *testing.T) {
	o, err := parseOffer(sdp("v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1", "t=0 0",
		"m=audio 4000 RTP/AVP 8 0 101", "a=rtpmap:101 telephone-event/8000", "a=sendonly", "a=rtcp-mux"))
	if err != nil {
		t.Fatal(err)
	}
	if o.Codec != media.PTPCMA || o.DTMFPT != 101 || o.Addr.String() != "10.0.0.1:4000" || !o.RTCPMux || o.Direction != "sendonly" {
		t.Fatalf("offer = %+v", o)
	}
	var b sdpBuilder
	ans := string(b.answer(o.Addr.Addr(), 20000, o))
	for _, want := range []string{"m=audio 20000 RTP/AVP 8 101", "a=rtpmap:8 PCMA/8000", "a=recvonly", "a=rtcp-mux", "o=hotline 0 1 IN IP4"} {
		if !strings.Contains(ans, want) {
			t.Errorf("answer lacks %q:\n%s", want, ans)
		}
	}
}

func TestParseOfferDeclinesVideoAndSRTP(t *testing.T) {
	o, err := parseOffer(sdp("v=0", "o=- 1 1 IN IP6 ::1", "s=-", "c=IN IP6 ::1", "t=0 0",
		"m=video 5000 RTP/AVP 96", "m=audio 4000 RTP/SAVP 0", "m=audio 4002 RTP/AVP 0"))
	if err != nil {
		t.Fatal(err)
	}
	if o.AudioIndex != 2 || o.Addr.Port() != 4002 {
		t.Fatalf("offer = %+v", o)
	}
	var b sdpBuilder
	ans := string(b.answer(o.Addr.Addr(), 20000, o))
	if !strings.Contains(ans, "m=video 0 RTP/AVP 96") || !strings.Contains(ans, "m=audio 0 RTP/SAVP 0") || !strings.Contains(ans, "c=IN IP6 ::1") {
		t.Fatalf("answer:\n%s", ans)
	}
}

func TestParseOfferErrors(t *testing.T) {
	cases := map[string]struct {
		body []byte
		want error
	}{
		"g729 only":      {sdp("v=0", "c=IN IP4 1.2.3.4", "m=audio 4000 RTP/AVP 18"), errNoCodec},
		"srtp only":      {sdp("v=0", "c=IN IP4 1.2.3.4", "m=audio 4000 RTP/SAVP 0"), errNoCodec},
		"no c line":      {sdp("v=0", "m=audio 4000 RTP/AVP 0"), errSDPMalformed},
		"bad port":       {sdp("v=0", "c=IN IP4 1.2.3.4", "m=audio 99999 RTP/AVP 0"), errSDPMalformed},
		"garbage":        {[]byte("hello world"), errSDPMalformed},
		"bad address":    {sdp("v=0", "c=IN IP4 host.example", "m=audio 4000 RTP/AVP 0"), errSDPMalformed},
		"family differs": {sdp("v=0", "c=IN IP6 1.2.3.4", "m=audio 4000 RTP/AVP 0"), errSDPMalformed},
	}
	for name, c := range cases {
		if _, err := parseOffer(c.body); !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", name, err, c.want)
		}
	}
}

func TestDynamicPCMUAndDirection(t *testing.T) {
	o, err := parseOffer(sdp("v=0", "c=IN IP4 1.2.3.4", "a=inactive", "m=audio 4000 RTP/AVP 98", "a=rtpmap:98 PCMU/8000"))
	if err != nil {
		t.Fatal(err)
	}
	if o.Codec != media.PTPCMU || o.Direction != "inactive" || answerDirection(o.Direction) != "inactive" {
		t.Fatalf("offer = %+v", o)
	}
}
