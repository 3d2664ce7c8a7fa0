package e2e

// Reading and writing the classic pcap files SIPp plays with
// play_pcap_audio: Ethernet / IPv4 / UDP / RTP. SIPp rewrites addresses and
// ports but sends the RTP headers as they are in the file.

import (
	"encoding/binary"
	"fmt"
	"os"
	"time"
)

type pcapPacket struct {
	At  time.Duration // since the first packet
	RTP []byte        // the UDP payload
}

// readPcapRTP reads the UDP payloads of an Ethernet/IPv4 pcap file.
func readPcapRTP(path string) ([]pcapPacket, error) {
	d, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(d) < 24 {
		return nil, fmt.Errorf("%s: short pcap header", path)
	}
	var bo binary.ByteOrder
	switch binary.LittleEndian.Uint32(d) {
	case 0xa1b2c3d4:
		bo = binary.LittleEndian
	case 0xd4c3b2a1:
		bo = binary.BigEndian
	default:
		return nil, fmt.Errorf("%s: not a microsecond pcap file", path)
	}
	if link := bo.Uint32(d[20:]); link != 1 {
		return nil, fmt.Errorf("%s: link type %d, want Ethernet", path, link)
	}
	var out []pcapPacket
	var first time.Duration
	for off := 24; off+16 <= len(d); {
		sec, usec := bo.Uint32(d[off:]), bo.Uint32(d[off+4:])
		incl := int(bo.Uint32(d[off+8:]))
		off += 16
		if off+incl > len(d) {
			return nil, fmt.Errorf("%s: truncated packet", path)
		}
		pkt := d[off : off+incl]
		off += incl
		at := time.Duration(sec)*time.Second + time.Duration(usec)*time.Microsecond
		if len(out) == 0 {
			first = at
		}
		if len(pkt) < 14+20+8 || binary.BigEndian.Uint16(pkt[12:]) != 0x0800 {
			continue
		}
		ip := pkt[14:]
		ihl := int(ip[0]&0x0F) * 4
		if ip[9] != 17 || len(ip) < ihl+8 {
			continue
		}
		udp := ip[ihl:]
		out = append(out, pcapPacket{At: at - first, RTP: append([]byte(nil), udp[8:]...)})
	}
	return out, nil
}

// writePcapRTP writes UDP packets 127.0.0.1:10000 -> 127.0.0.1:20000 (SIPp
// replaces both ends).
func writePcapRTP(path string, pkts []pcapPacket) error {
	b := make([]byte, 24, 24+len(pkts)*80)
	binary.LittleEndian.PutUint32(b, 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(b[4:], 2)
	binary.LittleEndian.PutUint16(b[6:], 4)
	binary.LittleEndian.PutUint32(b[16:], 65535)
	binary.LittleEndian.PutUint32(b[20:], 1)
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, p := range pkts {
		at := base.Add(p.At)
		frame := make([]byte, 14+20+8+len(p.RTP))
		binary.BigEndian.PutUint16(frame[12:], 0x0800)
		ip := frame[14:]
		ip[0] = 0x45
		binary.BigEndian.PutUint16(ip[2:], uint16(20+8+len(p.RTP)))
		ip[8] = 64
		ip[9] = 17
		copy(ip[12:], []byte{127, 0, 0, 1})
		copy(ip[16:], []byte{127, 0, 0, 1})
		var sum uint32
		for i := 0; i < 20; i += 2 {
			sum += uint32(binary.BigEndian.Uint16(ip[i:]))
		}
		for sum > 0xFFFF {
			sum = sum&0xFFFF + sum>>16
		}
		binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
		udp := ip[20:]
		binary.BigEndian.PutUint16(udp, 10000)
		binary.BigEndian.PutUint16(udp[2:], 20000)
		binary.BigEndian.PutUint16(udp[4:], uint16(8+len(p.RTP)))
		copy(udp[8:], p.RTP)
		var rec [16]byte
		binary.LittleEndian.PutUint32(rec[0:], uint32(at.Unix()))
		binary.LittleEndian.PutUint32(rec[4:], uint32(at.Nanosecond()/1000))
		binary.LittleEndian.PutUint32(rec[8:], uint32(len(frame)))
		binary.LittleEndian.PutUint32(rec[12:], uint32(len(frame)))
		b = append(b, rec[:]...)
		b = append(b, frame...)
	}
	return os.WriteFile(path, b, 0o644)
}

// dtmfCapture is the directory of the RFC 2833 captures Debian's SIPp ships.
const sippShare = "/usr/share/sip-tester"

func dtmfCaptureFile(key rune) string {
	name := string(key)
	switch key {
	case '#':
		name = "pound"
	case '*':
		name = "star"
	}
	return fmt.Sprintf("%s/dtmf_2833_%s.pcap", sippShare, name)
}

// keyPress is one key of a dtmfScript, pressed at At.
type keyPress struct {
	Key rune
	At  time.Duration
}

// presses spaces keys gap apart, from start on.
func presses(keys string, start, gap time.Duration) []keyPress {
	var out []keyPress
	for i, k := range keys {
		out = append(out, keyPress{k, start + time.Duration(i)*gap})
	}
	return out
}

// dtmfScript builds the RTP of key presses as a phone that sends nothing
// between them would: the event packets of SIPp's dtmf_2833_KEY captures,
// re-stamped on one RTP clock starting at (seq0, ts0): sequence numbers
// run on from press to press, and each press gets the timestamp of the
// time it starts. Replaying the raw captures back to back does not work
// for repeated keys: each carries its capture's timestamp, and an RFC 4733
// event is identified by its timestamp, so a receiver rightly takes the
// second press of the same key for a retransmission of the first.
func dtmfScript(keys []keyPress, seq0 uint16, ts0 uint32) ([]pcapPacket, error) {
	var out []pcapPacket
	seq := seq0
	for _, kp := range keys {
		pkts, err := readPcapRTP(dtmfCaptureFile(kp.Key))
		if err != nil {
			return nil, err
		}
		ts := ts0 + uint32(kp.At.Seconds()*sampleRate)
		// Keep the capture's own sequence pattern (its three end packets
		// share one number), shifted onto our running count.
		var first, last uint16
		for j, p := range pkts {
			r := append([]byte(nil), p.RTP...)
			if len(r) < 12 {
				continue
			}
			orig := binary.BigEndian.Uint16(r[2:])
			if j == 0 {
				first = orig
			}
			last = seq + (orig - first)
			binary.BigEndian.PutUint16(r[2:], last)
			binary.BigEndian.PutUint32(r[4:], ts)
			out = append(out, pcapPacket{At: kp.At + p.At, RTP: r})
		}
		seq = last + 1
	}
	return out, nil
}
